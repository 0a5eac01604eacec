"""A listing's cancellation policy as a provider sets it: checked by inventory, the platform's
when none is named, and handed with every hold to booking, which applies it."""

from typing import Any

import pytest

from services.inventory.tests.conftest import LISTING, Inventory, create_listing_with_slot
from shared.contracts.inventory_api import PLATFORM_REFUND_TIERS, HoldDetails
from shared.identity import Identity
from shared.testing import make_identity

PLATFORM_TIERS = [{"min_days_before": 14, "refund_percent": "100"}, {"min_days_before": 7, "refund_percent": "50"}]


@pytest.mark.parametrize(
    "tiers",
    [
        [{"min_days_before": 14, "refund_percent": "50"}, {"min_days_before": 7, "refund_percent": "100"}],
        [{"min_days_before": 7, "refund_percent": "50"}, {"min_days_before": 7, "refund_percent": "60"}],
        [{"min_days_before": -1, "refund_percent": "50"}],
        [{"min_days_before": 3, "refund_percent": "101"}],
        [{"min_days_before": day, "refund_percent": "10"} for day in range(11)],
    ],
)
async def test_inconsistent_policies_are_refused(
    inventory: Inventory, provider: Identity, tiers: list[dict[str, Any]]
) -> None:
    created = await inventory.client.post(
        "/listings", json=LISTING | {"cancellation_policy": {"tiers": tiers}}, headers=inventory.as_(provider)
    )
    assert created.status_code == 422, created.text


async def test_a_listing_that_names_no_policy_has_the_platforms_and_its_holds_carry_it(
    inventory: Inventory, provider: Identity
) -> None:
    assert [tier.model_dump(mode="json") for tier in PLATFORM_REFUND_TIERS] == PLATFORM_TIERS
    listing_id, slot_id = await create_listing_with_slot(inventory, provider)
    read = await inventory.client.get(f"/listings/{listing_id}")
    assert read.json()["cancellation_policy"] == {"tiers": PLATFORM_TIERS}

    traveler = make_identity("traveler")
    placed = await inventory.client.post(
        "/holds", json={"slot_id": slot_id, "adults": 2}, headers=inventory.as_(traveler)
    )
    assert placed.status_code == 201, placed.text
    hold = await inventory.client.get(f"/holds/{placed.json()['id']}", headers=inventory.as_(traveler))
    assert HoldDetails.model_validate_json(hold.content).cancellation_policy.model_dump(mode="json") == {
        "tiers": PLATFORM_TIERS
    }
