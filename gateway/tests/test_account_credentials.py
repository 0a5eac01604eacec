"""Registering without telling whether an address is taken; verifying the email; changing and
resetting the password with one-time, expiring, superseded tokens; a new password ends the
account's other sessions. The emails are the events the gateway writes for notification."""

import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from gateway.identity.accounts import account_token_hash
from gateway.identity.models import AccountToken
from gateway.tests.gateways import PASSWORD, Gateway, bearer, new_email, running_gateway
from shared.app import AppResources

NEW_PASSWORD = "a new and longer passphrase"
VERIFICATION = "identity.email_verification_requested"
RESET = "identity.password_reset_requested"


@pytest.fixture
async def gateway(database_url: str, redis_url: str, bootstrap_servers: str) -> AsyncIterator[Gateway]:
    # Many registrations and resets from one address: the per-address limits are not under test.
    async with running_gateway(database_url, redis_url, bootstrap_servers, rate_limit_scale=100) as running:
        yield running


def _problem(response: httpx.Response, status: int, error_code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["error_code"] == error_code


async def _verify(gateway: Gateway, token: str) -> httpx.Response:
    return await gateway.client.post("/api/v1/auth/verify-email", json={"token": token})


async def _request_reset(gateway: Gateway, email: str) -> httpx.Response:
    return await gateway.client.post("/api/v1/auth/password-reset", json={"email": email})


async def _reset(gateway: Gateway, token: str, password: str = NEW_PASSWORD) -> httpx.Response:
    return await gateway.client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": password}
    )


async def _register(gateway: Gateway, email: str, password: str = PASSWORD) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await gateway.client.post(
        "/api/v1/auth/register", json={"email": email, "password": password, "name": "Someone else"}
    )
    return response, time.perf_counter() - started


async def test_registration_answers_the_same_for_a_taken_and_a_free_email(gateway: Gateway) -> None:
    owner = await gateway.register()
    taken_times, free_times = [], []
    for _ in range(6):
        taken, taken_time = await _register(gateway, owner["email"], "the intruder's password")
        free, free_time = await _register(gateway, new_email())
        taken_times.append(taken_time)
        free_times.append(free_time)
        assert (taken.status_code, taken.json()) == (free.status_code, free.json())
        assert (free.status_code, free.json()) == (202, {"status": "verification_sent"})
        assert set(taken.headers) == set(free.headers)

    # Both ways hash the password: the time tells nothing either (a taken address answered
    # without hashing would take a small fraction of a free one's time).
    taken_median, free_median = statistics.median(taken_times), statistics.median(free_times)
    assert 0.6 < taken_median / free_median < 1.6, (taken_median, free_median)

    # The taken address's owner is told, and their account is as it was.
    told = await gateway.emails_of(owner["email"], "identity.registration_attempted")
    assert len(told) == 6
    assert all(event["user_id"] == owner["id"] and "token" not in event for event in told)
    assert (await gateway.sign_in(owner["email"])).status_code == 200
    assert (await gateway.sign_in(owner["email"], "the intruder's password")).status_code == 401


async def test_concurrent_registrations_of_one_address_make_one_account_and_answer_alike(gateway: Gateway) -> None:
    email = new_email()
    answers = await asyncio.gather(*(_register(gateway, email) for _ in range(4)))
    assert {(response.status_code, response.json()["status"]) for response, _ in answers} == {
        (202, "verification_sent")
    }
    assert len(await gateway.emails_of(email, VERIFICATION)) == 1
    assert len(await gateway.emails_of(email, "identity.registration_attempted")) == 3


async def test_a_new_account_signs_in_at_once_and_verifies_its_email_with_the_emailed_token_once(
    gateway: Gateway,
) -> None:
    user = await gateway.register()
    headers = bearer((await gateway.tokens(user["email"]))["access_token"])
    assert (await gateway.me(headers)).json()["email_verified"] is False

    token = await gateway.emailed_token(user["email"], VERIFICATION)
    verified = await _verify(gateway, token)
    assert verified.status_code == 200, verified.text
    assert verified.json() == {"status": "email_verified"}
    assert (await gateway.me(headers)).json()["email_verified"] is True

    _problem(await _verify(gateway, token), 400, "INVALID_TOKEN")


async def test_a_new_verification_link_supersedes_the_old_one_until_the_email_is_verified(gateway: Gateway) -> None:
    user = await gateway.register()
    headers = bearer((await gateway.tokens(user["email"]))["access_token"])
    older = await gateway.emailed_token(user["email"], VERIFICATION)
    resent = await gateway.client.post("/api/v1/auth/verify-email/resend", headers=headers)
    assert (resent.status_code, resent.json()) == (202, {"status": "verification_sent"})
    newer = await gateway.emailed_token(user["email"], VERIFICATION)

    _problem(await _verify(gateway, older), 400, "INVALID_TOKEN")
    assert (await _verify(gateway, newer)).status_code == 200
    _problem(
        await gateway.client.post("/api/v1/auth/verify-email/resend", headers=headers), 409, "EMAIL_ALREADY_VERIFIED"
    )


async def test_tokens_are_kept_only_as_hashes(gateway: Gateway) -> None:
    user = await gateway.register()
    token = await gateway.emailed_token(user["email"], VERIFICATION)
    resources: AppResources = gateway.app.state.resources
    async with resources.session_factory() as session:
        stored = await session.scalar(
            AccountToken.__table__.select().where(AccountToken.token_hash == account_token_hash(token))
        )
        assert stored is not None
        everything = str((await session.execute(AccountToken.__table__.select())).all())
    assert token not in everything


async def test_a_verification_token_expires(gateway: Gateway) -> None:
    user = await gateway.register()
    token = await gateway.emailed_token(user["email"], VERIFICATION)
    gateway.clock.advance(timedelta(hours=gateway.settings.email_verification_token_ttl_hours, seconds=1))
    _problem(await _verify(gateway, token), 400, "INVALID_TOKEN")
    assert (await gateway.account(user["email"])).email_verified_at is None  # type: ignore[union-attr]


async def test_a_reset_is_asked_for_with_the_same_answer_whether_or_not_the_account_exists(gateway: Gateway) -> None:
    user = await gateway.register()
    nobody = new_email()
    known, unknown = await _request_reset(gateway, user["email"]), await _request_reset(gateway, nobody)
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json()) == (202, {"status": "reset_sent"})
    assert [event["type"] for event in await gateway.emails_to(user["email"])] == [VERIFICATION, RESET]
    assert await gateway.emails_to(nobody) == []


async def test_a_reset_token_works_once(gateway: Gateway) -> None:
    user = await gateway.register()
    await _request_reset(gateway, user["email"])
    token = await gateway.emailed_token(user["email"], RESET)

    reset = await _reset(gateway, token)
    assert (reset.status_code, reset.json()) == (200, {"status": "password_reset"})
    _problem(await _reset(gateway, token, "yet another passphrase"), 400, "INVALID_TOKEN")
    assert (await gateway.sign_in(user["email"], NEW_PASSWORD)).status_code == 200
    assert (await gateway.sign_in(user["email"], "yet another passphrase")).status_code == 401


async def test_a_reset_token_used_twice_at_once_works_once(gateway: Gateway) -> None:
    user = await gateway.register()
    await _request_reset(gateway, user["email"])
    token = await gateway.emailed_token(user["email"], RESET)
    answers = await asyncio.gather(*(_reset(gateway, token, f"{NEW_PASSWORD} {n}") for n in range(4)))
    assert sorted(answer.status_code for answer in answers) == [200, 400, 400, 400]


async def test_a_reset_token_expires_after_its_lifetime(gateway: Gateway) -> None:
    user = await gateway.register()
    await _request_reset(gateway, user["email"])
    token = await gateway.emailed_token(user["email"], RESET)
    gateway.clock.advance(timedelta(minutes=gateway.settings.password_reset_token_ttl_minutes, seconds=1))
    _problem(await _reset(gateway, token), 400, "INVALID_TOKEN")
    assert (await gateway.sign_in(user["email"])).status_code == 200, "the password is unchanged"


async def test_a_newer_reset_token_supersedes_the_older(gateway: Gateway) -> None:
    user = await gateway.register()
    await _request_reset(gateway, user["email"])
    older = await gateway.emailed_token(user["email"], RESET)
    await _request_reset(gateway, user["email"])
    newer = await gateway.emailed_token(user["email"], RESET)
    assert older != newer

    _problem(await _reset(gateway, older), 400, "INVALID_TOKEN")
    assert (await _reset(gateway, newer)).status_code == 200


async def test_tokens_serve_only_their_purpose(gateway: Gateway) -> None:
    user = await gateway.register()
    verification = await gateway.emailed_token(user["email"], VERIFICATION)
    _problem(await _reset(gateway, verification), 400, "INVALID_TOKEN")
    _problem(await _reset(gateway, "a token nobody was sent"), 400, "INVALID_TOKEN")
    await _request_reset(gateway, user["email"])
    _problem(await _verify(gateway, await gateway.emailed_token(user["email"], RESET)), 400, "INVALID_TOKEN")


async def test_a_reset_ends_every_session_and_proves_the_email(gateway: Gateway) -> None:
    user = await gateway.register()
    sessions = [await gateway.tokens(user["email"]) for _ in range(2)]
    await _request_reset(gateway, user["email"])
    assert (await _reset(gateway, await gateway.emailed_token(user["email"], RESET))).status_code == 200

    for tokens in sessions:
        _problem(await gateway.me(bearer(tokens["access_token"])), 401, "INVALID_TOKEN")
        refreshed = await gateway.client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        _problem(refreshed, 401, "INVALID_TOKEN")
    assert (await gateway.sign_in(user["email"])).status_code == 401, "the old password is gone"
    me = await gateway.me(bearer((await gateway.tokens(user["email"], NEW_PASSWORD))["access_token"]))
    assert me.json()["email_verified"] is True, "the reset came through the mailbox"
    changed = await gateway.emails_of(user["email"], "identity.password_changed")
    assert [event["how"] for event in changed] == ["reset"]


async def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(gateway: Gateway) -> None:
    user = await gateway.register()
    this, other = await gateway.tokens(user["email"]), await gateway.tokens(user["email"])
    await _request_reset(gateway, user["email"])
    outstanding_reset = await gateway.emailed_token(user["email"], RESET)

    wrong = await gateway.client.post(
        "/api/v1/auth/password",
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
        headers=bearer(this["access_token"]),
    )
    _problem(wrong, 403, "INVALID_CREDENTIALS")
    changed = await gateway.client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(this["access_token"]),
    )
    assert (changed.status_code, changed.json()) == (200, {"status": "password_changed"})

    assert (await gateway.me(bearer(this["access_token"]))).status_code == 200
    refreshed = await gateway.client.post("/api/v1/auth/refresh", json={"refresh_token": this["refresh_token"]})
    assert refreshed.status_code == 200
    _problem(await gateway.me(bearer(other["access_token"])), 401, "INVALID_TOKEN")
    other_refresh = await gateway.client.post("/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]})
    _problem(other_refresh, 401, "INVALID_TOKEN")
    assert (await gateway.sign_in(user["email"])).status_code == 401
    assert (await gateway.sign_in(user["email"], NEW_PASSWORD)).status_code == 200
    _problem(await _reset(gateway, outstanding_reset), 400, "INVALID_TOKEN")


async def test_a_password_change_needs_a_signed_in_session(gateway: Gateway) -> None:
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    _problem(await gateway.client.post("/api/v1/auth/password", json=body), 401, "UNAUTHORIZED")
    headers = await gateway.signed_up()
    _problem(
        await gateway.client.post("/api/v1/auth/password", json=body | {"new_password": "short"}, headers=headers),
        422,
        "VALIDATION_ERROR",
    )
