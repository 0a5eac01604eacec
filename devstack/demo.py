"""A small demo catalog for `make up` (skipped with DEMO_DATA=0): a provider with two listings
that run every day, loaded through the gateway like any client would. Loading twice adds nothing."""

from datetime import date, timedelta

import httpx

DEMO_PROVIDER = {"email": "demo-provider@travel.example", "password": "demo-provider-password", "name": "Lisbon Local"}
DEMO_TRAVELER = {"email": "demo-traveler@travel.example", "password": "demo-traveler-password", "name": "Ana"}

# (listing, its daily schedule)
DEMO_LISTINGS: list[tuple[dict[str, object], dict[str, object]]] = [
    (
        {
            "title": "Alfama walking tour",
            "category": "tour",
            "description": "Two hours through Lisbon's oldest quarter with a local guide.",
            "city": "Lisbon",
            "country": "PT",
            "timezone": "Europe/Lisbon",
            "currency": "EUR",
            "base_price": "25.00",
            "pricing": {"tax_percent": "6"},
        },
        {"start_time": "10:00", "duration_minutes": 120, "capacity": 12},
    ),
    (
        {
            "title": "Sunset sail on the Tagus",
            "category": "activity",
            "description": "A sailing boat, a glass of wine, the bridge at sunset.",
            "city": "Lisbon",
            "country": "PT",
            "timezone": "Europe/Lisbon",
            "currency": "EUR",
            "base_price": "55.00",
            "pricing": {"tax_percent": "6", "child_percent": "50"},
        },
        {"start_time": "18:30", "duration_minutes": 90, "capacity": 8},
    ),
]


def _account(client: httpx.Client, role: str, account: dict[str, str]) -> dict[str, str]:
    client.post("/api/v1/auth/register", json=account | {"role": role})  # the same answer when it exists already
    tokens = client.post("/api/v1/auth/token", json={"email": account["email"], "password": account["password"]})
    tokens.raise_for_status()
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


def load_demo_data(gateway_url: str) -> None:
    with httpx.Client(base_url=gateway_url, timeout=30) as client:
        provider = _account(client, "provider", DEMO_PROVIDER)
        _account(client, "traveler", DEMO_TRAVELER)
        me = client.get("/api/v1/auth/me", headers=provider).json()
        existing = client.get("/api/v1/listings", params={"provider_id": me["id"]}).json()["items"]
        titles = {listing["title"] for listing in existing}
        for fields, daily in DEMO_LISTINGS:
            if fields["title"] in titles:
                continue
            listing = client.post("/api/v1/listings", json=fields, headers=provider)
            listing.raise_for_status()
            schedule = daily | {"recurrence": "daily", "valid_from": (date.today() + timedelta(days=1)).isoformat()}
            client.post(
                f"/api/v1/listings/{listing.json()['id']}/schedules", json=schedule, headers=provider
            ).raise_for_status()
