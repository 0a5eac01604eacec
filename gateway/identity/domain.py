"""Pure rules of identity."""

from collections.abc import Collection
from datetime import datetime, timedelta

from babel import Locale, UnknownLocaleError
from babel.core import get_locale_identifier

DEFAULT_LOCALE = "en"
# The longest tag kept; a real language-script-region tag is far shorter.
LOCALE_MAX_LENGTH = 35


def may_link_external_identity(*, roles: Collection[str], email_verified: bool) -> bool:
    """Whether an external identity with a verified email may act as the local account that
    has that email. Only if the account's owner proved the address theirs too: else whoever
    registered it first (perhaps before the address's owner ever came) would share the
    account with the provider's user. Never an admin: an identity provider's word is not
    enough to act as one."""
    return email_verified and "admin" not in roles


def canonical_locale(tag: str) -> str:
    """The BCP 47 tag of a locale known to CLDR, in its usual case ("pt-pt" → "pt-PT"); a
    ValueError for anything else (a typo, an unknown language or region, "pt_PT")."""
    try:
        locale = Locale.parse(tag, sep="-")
    except (ValueError, UnknownLocaleError):
        raise ValueError(f"{tag!r} is not a known BCP 47 locale tag (such as 'en' or 'pt-PT')") from None
    if locale.language == "root":
        raise ValueError(f"{tag!r} is not a language")
    return get_locale_identifier((locale.language, locale.territory, locale.script, locale.variant), sep="-")


def next_change_time(previous: datetime | None, now: datetime) -> datetime:
    """When an account's change is stamped: now, but always after its previous change, so that
    readers keeping the newest never take an earlier change for a later one (another replica's
    clock may be a little behind)."""
    if previous is None or now > previous:
        return now
    return previous + timedelta(microseconds=1)
