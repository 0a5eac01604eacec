"""An account's sign-in locks after repeated failures, the same for an email nobody has."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from gateway.settings import GatewaySettings
from gateway.tests.gateways import Gateway, new_email, running_gateway

WRONG = "wrong password!"
LIMIT = 3


@pytest.fixture
async def gateway(database_url: str, redis_url: str, bootstrap_servers: str) -> AsyncIterator[Gateway]:
    # Three failures rather than five: every attempt costs an argon2 verification. The limit
    # per address is tested with the rate limiter; here it stays out of the way.
    async with running_gateway(
        database_url, redis_url, bootstrap_servers, sign_in_failure_limit=LIMIT, token_rate_limit=10_000
    ) as running:
        yield running


async def _fail(gateway: Gateway, email: str, times: int) -> None:
    for _ in range(times):
        failed = await gateway.sign_in(email, WRONG)
        assert (failed.status_code, failed.json()["error_code"]) == (401, "INVALID_CREDENTIALS")


def _locked(response: httpx.Response) -> dict[str, object]:
    assert response.status_code == 429, response.text
    body: dict[str, object] = response.json()
    assert body["error_code"] == "SIGN_IN_LOCKED"
    assert body["details"] == {"retry_after_seconds": int(response.headers["Retry-After"])}
    return body


async def test_repeated_failures_lock_the_account_for_the_window_even_for_the_right_password(
    gateway: Gateway,
) -> None:
    email = (await gateway.register())["email"]
    await _fail(gateway, email, LIMIT)

    locked = await gateway.sign_in(email)
    _locked(locked)
    assert locked.headers["Retry-After"] == str(gateway.settings.sign_in_failure_window_seconds)
    gateway.clock.advance(timedelta(seconds=gateway.settings.sign_in_failure_window_seconds - 1))
    assert (await gateway.sign_in(email)).headers["Retry-After"] == "1"
    gateway.clock.advance(timedelta(seconds=1))
    assert (await gateway.sign_in(email)).status_code == 200


async def test_a_lock_looks_the_same_whether_or_not_the_email_has_an_account(gateway: Gateway) -> None:
    known, unknown = (await gateway.register())["email"], new_email()
    answers = {}
    for email in (known, unknown):
        await _fail(gateway, email, LIMIT)
        answers[email] = _locked(await gateway.sign_in(email, WRONG))

    def comparable(body: dict[str, object]) -> dict[str, object]:
        return {key: value for key, value in body.items() if key not in ("timestamp", "request_id")}

    assert comparable(answers[known]) == comparable(answers[unknown])


async def test_a_success_clears_the_failures(gateway: Gateway) -> None:
    email = (await gateway.register())["email"]
    await _fail(gateway, email, LIMIT - 1)
    assert (await gateway.sign_in(email)).status_code == 200
    await _fail(gateway, email, LIMIT - 1)
    assert (await gateway.sign_in(email)).status_code == 200


async def test_failures_leave_the_window_one_by_one(gateway: Gateway) -> None:
    email = (await gateway.register())["email"]
    for _ in range(LIMIT):
        await _fail(gateway, email, 1)
        gateway.clock.advance(timedelta(minutes=1))
    # The oldest failure was 3 minutes ago: it leaves the 15-minute window in 12 minutes.
    assert (await gateway.sign_in(email, WRONG)).headers["Retry-After"] == "720"
    gateway.clock.advance(timedelta(minutes=12))
    await _fail(gateway, email, 1)
    _locked(await gateway.sign_in(email))


async def test_concurrent_guesses_try_at_most_the_limit_of_passwords(gateway: Gateway) -> None:
    email = (await gateway.register())["email"]
    answers = await asyncio.gather(*(gateway.sign_in(email, WRONG) for _ in range(12)))
    assert sorted(answer.status_code for answer in answers) == [401] * LIMIT + [429] * (12 - LIMIT)


async def test_an_account_lock_leaves_other_accounts_alone(gateway: Gateway) -> None:
    locked_email, other_email = (await gateway.register())["email"], (await gateway.register())["email"]
    await _fail(gateway, locked_email, LIMIT)
    _locked(await gateway.sign_in(locked_email))
    assert (await gateway.sign_in(other_email)).status_code == 200


def test_the_default_is_five_failures_in_fifteen_minutes() -> None:
    defaults = GatewaySettings()
    assert (defaults.sign_in_failure_limit, defaults.sign_in_failure_window_seconds) == (5, 900)
