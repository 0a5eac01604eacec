"""Analytics' revenue read through the gateway, and payment's ledger summed straight from its
tables, in the same shape, so end-to-end tests can compare the two to the cent."""

import time
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import text

from services.analytics.revenue.service import UNATTRIBUTED
from shared.db import create_engine

GROUPINGS = ("day", "week", "month", "category", "provider", "currency")
# Every day: the totals are compared with the whole ledger.
SPAN = {"from": "2000-01-01", "to": "2100-12-31"}

# Per currency, and per (provider, currency): the sums compared.
Sums = tuple[dict[str, tuple[Decimal, ...]], dict[tuple[str, str], tuple[Decimal, ...]]]
LEDGER_BY_CURRENCY = """
SELECT t.currency,
       sum(CASE WHEN t.kind = 'capture' AND e.account LIKE 'provider_payable:%' AND e.amount < 0
                THEN -e.amount ELSE 0 END) AS gmv,
       sum(CASE WHEN t.kind = 'refund' AND e.account LIKE 'provider_payable:%' AND e.amount > 0
                THEN e.amount ELSE 0 END) AS refunds,
       sum(CASE WHEN e.account = 'platform_revenue' THEN -e.amount ELSE 0 END) AS platform_revenue,
       sum(CASE WHEN e.account = 'platform_credit_expense' THEN e.amount ELSE 0 END) AS credits,
       sum(CASE WHEN t.kind = 'payout' AND e.amount > 0 THEN e.amount ELSE 0 END) AS payouts
FROM payment.ledger_transaction AS t JOIN payment.ledger_entry AS e ON e.transaction_id = t.id
GROUP BY t.currency
"""
LEDGER_BY_PROVIDER = """
SELECT split_part(e.account, ':', 2) AS provider, t.currency,
       sum(CASE WHEN t.kind = 'capture' AND e.amount < 0 THEN -e.amount ELSE 0 END) AS gmv,
       sum(CASE WHEN t.kind = 'refund' AND e.amount > 0 THEN e.amount ELSE 0 END) AS refunds,
       sum(CASE WHEN t.kind = 'capture' AND e.amount > 0 THEN e.amount
                WHEN t.kind = 'refund' AND e.amount < 0 THEN e.amount ELSE 0 END) AS platform_fees
FROM payment.ledger_transaction AS t JOIN payment.ledger_entry AS e ON e.transaction_id = t.id
WHERE e.account LIKE 'provider_payable:%'
GROUP BY 1, 2
"""


def revenue_reports(gateway: httpx.Client, viewer: dict[str, str]) -> dict[str, Any]:
    """The viewer's revenue over every day, in every grouping."""
    answers = {
        group_by: gateway.get("/api/v1/analytics/revenue", params={**SPAN, "group_by": group_by}, headers=viewer)
        for group_by in GROUPINGS
    }
    assert all(answer.status_code == 200 for answer in answers.values()), answers
    return {group_by: answer.json()["groups"] for group_by, answer in answers.items()}


def settled_revenue_reports(gateway: httpx.Client, viewer: dict[str, str], within: float = 30) -> dict[str, Any]:
    """The reports once they have not changed for two seconds: the flows' last events are in."""
    deadline = time.monotonic() + within
    reports = revenue_reports(gateway, viewer)
    while time.monotonic() < deadline:
        time.sleep(2)
        again = revenue_reports(gateway, viewer)
        if again == reports:
            return reports
        reports = again
    raise AssertionError("analytics' revenue kept changing")


async def ledger_sums(database_url: str) -> Sums:
    """Payment's ledger summed per currency, and per provider and currency, straight from its tables."""
    engine = create_engine(database_url=database_url, schema="payment")
    try:
        async with engine.connect() as connection:
            by_currency = {
                row[0]: tuple(Decimal(value) for value in row[1:])
                for row in await connection.execute(text(LEDGER_BY_CURRENCY))
            }
            by_provider = {
                (row[0], row[1]): tuple(Decimal(value) for value in row[2:])
                for row in await connection.execute(text(LEDGER_BY_PROVIDER))
            }
            return by_currency, by_provider
    finally:
        await engine.dispose()


def as_the_ledger_sums(reports: dict[str, Any]) -> Sums:
    """An admin's revenue reports (by currency and by provider) in the shape of `ledger_sums`."""
    by_currency: dict[str, tuple[Decimal, ...]] = {
        group["currency"]: (
            Decimal(group["gmv"]),
            Decimal(group["refunds"]),
            Decimal(group["platform_fees"]) - Decimal(group["expert_fees"]),
            Decimal(group["credits"]),
            Decimal(group["payouts"]) + Decimal(group["expert_payouts"]),
        )
        for group in reports["currency"]
    }
    by_provider: dict[tuple[str, str], tuple[Decimal, ...]] = {
        (group["group"], group["currency"]): (
            Decimal(group["gmv"]),
            Decimal(group["refunds"]),
            Decimal(group["platform_fees"]),
        )
        for group in reports["provider"]
        if group["group"] != UNATTRIBUTED
    }
    return by_currency, by_provider
