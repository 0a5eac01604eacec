"""Fee rules in the payment app against the real database: the seeded defaults, admin CRUD and
its checks, and the rule `fee_for` picks from what is stored.

Rules made here are for fresh provider ids (or refused), so they never change the fee of a
sale in another test.
"""

import uuid
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func, select

from services.payment.fees.models import FeeRule
from services.payment.fees.service import fee_for
from services.payment.tests.conftest import PaymentApp
from shared.testing import make_identity

ADMIN = make_identity("admin")


async def _create(payment_app: PaymentApp, **rule: Any) -> httpx.Response:
    return await payment_app.client.post("/admin/fees", json=rule, headers=payment_app.as_(ADMIN))


async def _change(payment_app: PaymentApp, rule_id: str, **change: Any) -> httpx.Response:
    return await payment_app.client.patch(f"/admin/fees/{rule_id}", json=change, headers=payment_app.as_(ADMIN))


async def _fee(
    payment_app: PaymentApp, provider_id: uuid.UUID, category: str, amount: str, currency: str = "EUR"
) -> tuple[Decimal, FeeRule]:
    async with payment_app.sessions() as session:
        return await fee_for(
            session, provider_id=provider_id, category=category, amount=Decimal(amount), currency=currency
        )


async def _rule_count(payment_app: PaymentApp) -> int:
    async with payment_app.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(FeeRule)) or 0)


async def test_the_seeded_defaults_are_listed_and_price_each_category(payment_app: PaymentApp) -> None:
    listed = await payment_app.client.get("/admin/fees", headers=payment_app.as_(ADMIN))
    assert listed.status_code == 200, listed.text
    seeded = {
        (rule["scope"], rule["category"], rule["percentage"])
        for rule in listed.json()["items"]
        if rule["updated_by"] is None
    }
    assert seeded == {
        ("category", "accommodation", "7.5"),
        ("category", "activity", "15"),
        ("category", "meal", "5"),
        ("category", "transport", "10"),
        ("global", None, "15"),
    }
    provider_id = uuid.uuid4()
    for category, fee in [("accommodation", "7.50"), ("meal", "5.00"), ("transport", "10.00"), ("tour", "15.00")]:
        charged, rule = await _fee(payment_app, provider_id, category, "100.00")
        assert charged == Decimal(fee)
        assert rule.updated_by is None


async def test_only_admins_see_or_change_fee_rules(payment_app: PaymentApp) -> None:
    before = await _rule_count(payment_app)
    rule = {"scope": "provider", "provider_id": str(uuid.uuid4()), "percentage": "1"}
    some_rule_id = (await payment_app.client.get("/admin/fees", headers=payment_app.as_(ADMIN))).json()["items"][0]
    for role in ("traveler", "provider", "expert"):
        headers = payment_app.as_(make_identity(role))
        assert (await payment_app.client.get("/admin/fees", headers=headers)).status_code == 403
        assert (await payment_app.client.post("/admin/fees", json=rule, headers=headers)).status_code == 403
        patched = await payment_app.client.patch(
            f"/admin/fees/{some_rule_id['id']}", json={"active": False}, headers=headers
        )
        assert (patched.status_code, patched.json()["error_code"]) == (403, "FORBIDDEN")
    assert (await payment_app.client.post("/admin/fees", json=rule)).status_code == 401
    assert await _rule_count(payment_app) == before
    async with payment_app.sessions() as session:
        assert (await session.get_one(FeeRule, uuid.UUID(some_rule_id["id"]))).active


async def test_a_provider_rule_made_by_an_admin_beats_the_category_default_with_its_clamps(
    payment_app: PaymentApp,
) -> None:
    provider_id = uuid.uuid4()
    created = await _create(
        payment_app,
        scope="provider",
        provider_id=str(provider_id),
        percentage="3.25",
        min_fee="2.00",
        max_fee="40.00",
        currency="EUR",
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert {key: body[key] for key in ("scope", "category", "percentage", "fixed_amount", "active", "priority")} == {
        "scope": "provider",
        "category": None,
        "percentage": "3.25",
        "fixed_amount": None,
        "active": True,
        "priority": 0,
    }
    assert (body["min_fee"], body["max_fee"], body["currency"], body["updated_by"]) == (
        "2.00",
        "40.00",
        "EUR",
        str(ADMIN.user_id),
    )

    assert (await _fee(payment_app, provider_id, "meal", "100.00"))[0] == Decimal("3.25")
    assert (await _fee(payment_app, provider_id, "meal", "10.00"))[0] == Decimal("2.00")
    assert (await _fee(payment_app, provider_id, "meal", "5000.00"))[0] == Decimal("40.00")
    # The clamps are euros: in another currency the provider's sales fall back to the defaults.
    fee, rule = await _fee(payment_app, provider_id, "meal", "100.00", currency="USD")
    assert (fee, rule.category) == (Decimal("5.00"), "meal")
    # Other providers are untouched.
    assert (await _fee(payment_app, uuid.uuid4(), "meal", "100.00"))[0] == Decimal("5.00")


async def test_an_invalid_rule_is_refused_with_the_failing_fields_and_nothing_is_stored(
    payment_app: PaymentApp,
) -> None:
    before = await _rule_count(payment_app)
    both = await _create(payment_app, scope="global", percentage="10", fixed_amount="1.00", currency="EUR")
    assert both.status_code == 422
    assert both.headers["content-type"] == "application/problem+json"
    assert both.json()["error_code"] == "VALIDATION_ERROR"
    assert both.json()["details"]["fields"]
    for rule in (
        {"scope": "category", "percentage": "10"},
        {"scope": "provider", "provider_id": "not-a-uuid", "percentage": "10"},
        {"scope": "global", "percentage": "10", "min_fee": "9.00", "max_fee": "1.00", "currency": "EUR"},
        {"scope": "global", "fixed_amount": "1.00"},
        {"scope": "global", "percentage": "10", "priority": "first"},
        {"scope": "global", "percentage": "10", "colour": "blue"},
        {"scope": "global", "fixed_amount": "1.00", "currency": "XXX"},
        {"scope": "global", "fixed_amount": "1.00", "currency": "ISK"},
        {"scope": "global", "fixed_amount": "100.50", "currency": "JPY"},
    ):
        refused = await payment_app.client.post("/admin/fees", json=rule, headers=payment_app.as_(ADMIN))
        assert (refused.status_code, refused.json()["error_code"]) == (422, "VALIDATION_ERROR"), rule
    assert await _rule_count(payment_app) == before


async def test_a_change_applies_only_what_is_sent_and_must_leave_a_valid_rule(payment_app: PaymentApp) -> None:
    provider_id = uuid.uuid4()
    created = (await _create(payment_app, scope="provider", provider_id=str(provider_id), percentage="2")).json()
    assert (await _fee(payment_app, provider_id, "transport", "100.00"))[0] == Decimal("2.00")

    switched_off = await _change(payment_app, created["id"], active=False)
    assert switched_off.status_code == 200, switched_off.text
    assert (switched_off.json()["active"], switched_off.json()["percentage"]) == (False, "2")
    assert switched_off.json()["updated_at"] > created["updated_at"]
    assert (await _fee(payment_app, provider_id, "transport", "100.00"))[0] == Decimal("10.00")

    half_switch = await _change(payment_app, created["id"], fixed_amount="1.50", currency="EUR")
    assert (half_switch.status_code, half_switch.json()["error_code"]) == (422, "VALIDATION_ERROR")
    assert (await _change(payment_app, created["id"], active=None)).status_code == 422
    assert (await _change(payment_app, created["id"], scope="category")).status_code == 422
    async with payment_app.sessions() as session:
        unchanged = await session.get_one(FeeRule, uuid.UUID(created["id"]))
    assert (unchanged.percentage, unchanged.fixed_amount, unchanged.active) == (Decimal(2), None, False)

    fixed = await _change(payment_app, created["id"], percentage=None, fixed_amount="1.50", currency="EUR", active=True)
    assert fixed.status_code == 200, fixed.text
    assert (fixed.json()["percentage"], fixed.json()["fixed_amount"], fixed.json()["provider_id"]) == (
        None,
        "1.50",
        str(provider_id),
    )
    assert (await _fee(payment_app, provider_id, "transport", "100.00"))[0] == Decimal("1.50")
    assert (await _change(payment_app, str(uuid.uuid4()), active=False)).status_code == 404


async def test_within_a_scope_the_newer_rule_wins_until_another_has_a_higher_priority(payment_app: PaymentApp) -> None:
    provider_id = uuid.uuid4()
    first = (await _create(payment_app, scope="provider", provider_id=str(provider_id), percentage="4")).json()
    second = (await _create(payment_app, scope="provider", provider_id=str(provider_id), percentage="6")).json()
    assert (await _fee(payment_app, provider_id, "meal", "100.00"))[1].id == uuid.UUID(second["id"])

    assert (await _change(payment_app, first["id"], priority=1)).status_code == 200
    fee, rule = await _fee(payment_app, provider_id, "meal", "100.00")
    assert (fee, rule.id) == (Decimal("4.00"), uuid.UUID(first["id"]))
