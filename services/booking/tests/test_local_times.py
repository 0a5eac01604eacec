"""A booking of a listing away from UTC shows the listing's zone and its local start and end."""

from datetime import timedelta

from services.booking.tests.conftest import BookingApp
from shared.testing import make_identity


async def test_a_booking_shows_its_listings_zone_and_local_times(booking_app: BookingApp) -> None:
    traveler, provider = make_identity("traveler"), make_identity("provider")
    # 09:00 UTC on 5 May 2031 is 06:30 in St. John's, on Newfoundland daylight time (UTC-02:30).
    booking = await booking_app.add_booking(
        traveler=traveler, provider=provider, starts_in=timedelta(days=1), timezone="America/St_Johns"
    )

    read = await booking_app.client.get(f"/bookings/{booking.id}", headers=booking_app.as_(traveler))
    listed = await booking_app.client.get("/bookings", headers=booking_app.as_(traveler))

    assert read.status_code == 200, read.text
    for shown in (read.json(), listed.json()["items"][0]):
        assert {name: shown[name] for name in ("timezone", "starts_at", "local_starts_at", "local_ends_at")} == {
            "timezone": "America/St_Johns",
            "starts_at": "2031-05-05T09:00:00Z",
            "local_starts_at": "2031-05-05T06:30:00-02:30",
            "local_ends_at": "2031-05-05T08:30:00-02:30",
        }
