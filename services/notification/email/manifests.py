"""The provider's manifest of a day's bookings: one email with the day's bookings as a table,
rendered from `layouts/provider_daily_manifest.*` in the provider's locale. Each start is shown
on the listing's own clock (the zone is named once, above the table)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from babel.dates import format_time, get_timezone_name

from services.notification.email.rendering import email_locale, render_email
from services.notification.manifests.domain import ManifestLine


@dataclass(frozen=True)
class ManifestRow:
    """A line of the manifest with its start as the listing's clock reads it."""

    starts: str
    line: ManifestLine


def provider_daily_manifest(
    *, day: date, timezone: str, lines: Sequence[ManifestLine], sender: str, recipient: str, locale: str
) -> EmailMessage:
    babel_locale = email_locale(locale)
    zone = ZoneInfo(timezone)
    rows = [
        ManifestRow(starts=format_time(line.starts_at, "short", tzinfo=zone, locale=babel_locale), line=line)
        for line in lines
    ]
    # Named as on that day (summer or winter time).
    zone_name = get_timezone_name(datetime.combine(day, time(12), tzinfo=zone), "long", locale=babel_locale)
    context = {
        "day": day,
        "timezone": timezone,
        "zone_name": zone_name,
        "rows": rows,
        "bookings": len(lines),
        "seats": sum(line.seats for line in lines),
    }
    return render_email("provider_daily_manifest", context, sender=sender, recipient=recipient, locale=locale)
