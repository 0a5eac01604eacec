"""Fair use of what booking shows: the client secret, only to the traveler who pays."""

from datetime import timedelta

from services.booking.tests.conftest import BookingApp
from shared.testing import make_identity


async def test_only_the_traveler_who_pays_sees_the_client_secret(booking_app: BookingApp) -> None:
    traveler, provider = make_identity("traveler"), make_identity("provider")
    booking = await booking_app.add_booking(
        traveler=traveler,
        provider=provider,
        starts_in=timedelta(days=3),
        status="pending_payment",
        payment_intent_id="pi_fair_use",
        client_secret="pi_fair_use_secret_abc",
    )
    for viewer, secret in (
        (traveler, "pi_fair_use_secret_abc"),
        (provider, None),
        (make_identity("admin"), None),
    ):
        read = await booking_app.client.get(f"/bookings/{booking.id}", headers=booking_app.as_(viewer))
        assert read.status_code == 200, read.text
        assert read.json()["payment"] == {
            "provider": "stripe",
            "payment_intent_id": "pi_fair_use",
            "client_secret": secret,
        }, viewer.roles
        by_reference = await booking_app.client.get(
            f"/bookings/reference/{booking.reference}", headers=booking_app.as_(viewer)
        )
        assert by_reference.json()["payment"]["client_secret"] == secret
    listed = await booking_app.client.get("/bookings", headers=booking_app.as_(provider))
    assert [item["payment"]["client_secret"] for item in listed.json()["items"]] == [None]
    own = await booking_app.client.get("/bookings", headers=booking_app.as_(traveler))
    assert [item["payment"]["client_secret"] for item in own.json()["items"]] == ["pi_fair_use_secret_abc"]
