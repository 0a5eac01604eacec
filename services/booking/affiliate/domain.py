"""Partner links, pure: which partners suit a listing, and the link each one takes with the
platform's partner id."""

from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, quote_plus

Partner = Literal["booking_com", "expedia", "getyourguide", "viator", "skyscanner", "opentable", "resy"]


@dataclass(frozen=True)
class PartnerTemplate:
    name: str
    # `{query}` is the search text (quoted for a query string, or for a path where the
    # template puts it in one), `{partner_id}` the platform's id with the partner.
    url: str
    query_in_path: bool = False


TEMPLATES: dict[Partner, PartnerTemplate] = {
    "booking_com": PartnerTemplate(
        "Booking.com", "https://www.booking.com/searchresults.html?ss={query}&aid={partner_id}"
    ),
    "expedia": PartnerTemplate(
        "Expedia", "https://www.expedia.com/Hotel-Search?destination={query}&affcid={partner_id}"
    ),
    "getyourguide": PartnerTemplate(
        "GetYourGuide", "https://www.getyourguide.com/s/?q={query}&partner_id={partner_id}"
    ),
    "viator": PartnerTemplate("Viator", "https://www.viator.com/searchResults/all?text={query}&pid={partner_id}"),
    "skyscanner": PartnerTemplate(
        "Skyscanner", "https://www.skyscanner.net/transport/flights-to/{query}/?associateid={partner_id}", True
    ),
    "opentable": PartnerTemplate("OpenTable", "https://www.opentable.com/s?term={query}&ref={partner_id}"),
    "resy": PartnerTemplate("Resy", "https://resy.com/cities/{query}?affiliate_id={partner_id}", True),
}

# Who sells what a listing's travelers may also want: stays, things to do, getting there, a table.
PARTNERS_BY_CATEGORY: dict[str, tuple[Partner, ...]] = {
    "accommodation": ("booking_com", "expedia"),
    "activity": ("getyourguide", "viator"),
    "tour": ("getyourguide", "viator"),
    "transport": ("skyscanner",),
    "meal": ("opentable", "resy"),
    "package": ("expedia", "booking_com", "skyscanner"),
}


def search_text(partner: Partner, *, title: str, city: str) -> str:
    """What the partner is searched for: the city for stays, flights and tables; the listing
    itself and its city for things to do."""
    return f"{title} {city}" if partner in ("getyourguide", "viator") else city


def partner_url(partner: Partner, *, partner_id: str, query: str) -> str:
    template = TEMPLATES[partner]
    quoted = quote(query.lower().replace(" ", "-"), safe="-") if template.query_in_path else quote_plus(query)
    return template.url.format(query=quoted, partner_id=quote_plus(partner_id))
