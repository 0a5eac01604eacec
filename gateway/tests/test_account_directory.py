"""The gateway tells the services who its accounts are: `identity.account_changed`, written with
each new account (registered, the bootstrap admin) and each change of what it carries (a
verified email), stamped with a time later than the account's previous change; and every
account again when an admin asks. An account's locale is a BCP 47 tag chosen at registration."""

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from gateway.identity.directory import republish_accounts
from gateway.tests.gateways import ADMIN_EMAIL, PASSWORD, Gateway, bearer, new_email, running_gateway
from shared.app import AppResources
from shared.contracts.identity import AccountChanged

VERIFICATION = "identity.email_verification_requested"
RESET = "identity.password_reset_requested"


@pytest.fixture
async def gateway(database_url: str, redis_url: str, bootstrap_servers: str) -> AsyncIterator[Gateway]:
    async with running_gateway(database_url, redis_url, bootstrap_servers, rate_limit_scale=100) as running:
        yield running


def _changed_at(event: dict[str, Any]) -> datetime:
    return AccountChanged.model_validate(event).changed_at


async def _register(gateway: Gateway, **fields: Any) -> dict[str, Any]:
    body = {"email": new_email(), "password": PASSWORD, "name": "Ana"} | fields
    response = await gateway.client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 202, response.text
    user = await gateway.account(body["email"])
    assert user is not None
    return {"id": str(user.id), "email": user.email}


async def test_a_registered_account_is_announced_with_its_roles_locale_and_unverified_email(gateway: Gateway) -> None:
    user = await _register(gateway, role="provider", locale="pt-PT", name="Lisbon Local")

    [announced] = await gateway.account_changes(user["id"])
    assert {key: value for key, value in announced.items() if key != "changed_at"} == {
        "user_id": user["id"],
        "email": user["email"],
        "name": "Lisbon Local",
        "roles": ["provider"],
        "locale": "pt-PT",
        "email_verified": False,
    }
    assert _changed_at(announced) == gateway.clock.now()

    headers = bearer((await gateway.tokens(user["email"]))["access_token"])
    me = (await gateway.me(headers)).json()
    assert (me["locale"], me["roles"]) == ("pt-PT", ["provider"])


async def test_a_registration_without_a_locale_writes_in_english(gateway: Gateway) -> None:
    user = await _register(gateway)
    [announced] = await gateway.account_changes(user["id"])
    assert announced["locale"] == "en"


@pytest.mark.parametrize(("typed", "kept"), [("pt-pt", "pt-PT"), ("EN", "en"), ("zh-hans-cn", "zh-Hans-CN")])
async def test_a_locale_is_kept_as_its_bcp47_tag(gateway: Gateway, typed: str, kept: str) -> None:
    user = await _register(gateway, locale=typed)
    assert (await gateway.account(user["email"])).locale == kept  # type: ignore[union-attr]


@pytest.mark.parametrize("tag", ["xx", "en-XX", "pt_PT", "klingon", "en-US-x-private", "root", "", "e" * 36])
async def test_a_tag_that_is_not_a_locale_is_refused_and_makes_no_account(gateway: Gateway, tag: str) -> None:
    email = new_email()
    response = await gateway.client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": "Ana", "locale": tag}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["error_code"] == "VALIDATION_ERROR"
    assert await gateway.account(email) is None


async def test_registering_a_taken_address_announces_nothing(gateway: Gateway) -> None:
    owner = await _register(gateway)
    again = await gateway.client.post(
        "/api/v1/auth/register",
        json={"email": owner["email"], "password": "another password", "name": "Eve", "locale": "fr"},
    )
    assert (again.status_code, again.json()) == (202, {"status": "verification_sent"})
    assert len(await gateway.account_changes(owner["id"])) == 1
    assert (await gateway.account(owner["email"])).locale == "en"  # type: ignore[union-attr]


async def test_verifying_the_email_announces_the_account_verified_once(gateway: Gateway) -> None:
    user = await _register(gateway)
    token = await gateway.emailed_token(user["email"], VERIFICATION)
    gateway.clock.advance(timedelta(minutes=5))
    assert (await gateway.client.post("/api/v1/auth/verify-email", json={"token": token})).status_code == 200

    registered, verified = await gateway.account_changes(user["id"])
    assert (registered["email_verified"], verified["email_verified"]) == (False, True)
    assert _changed_at(verified) == gateway.clock.now() > _changed_at(registered)

    # A verified account asking for a new link is refused; nothing is announced.
    headers = bearer((await gateway.tokens(user["email"]))["access_token"])
    assert (await gateway.client.post("/api/v1/auth/verify-email/resend", headers=headers)).status_code == 409
    assert len(await gateway.account_changes(user["id"])) == 2


async def test_a_reset_proves_the_email_and_announces_it_only_when_it_was_unproven(gateway: Gateway) -> None:
    user = await _register(gateway)
    for password in ("a first new passphrase", "a second new passphrase"):
        assert (
            await gateway.client.post("/api/v1/auth/password-reset", json={"email": user["email"]})
        ).status_code == 202
        token = await gateway.emailed_token(user["email"], RESET)
        confirmed = await gateway.client.post(
            "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": password}
        )
        assert confirmed.status_code == 200, confirmed.text

    announced = await gateway.account_changes(user["id"])
    assert [event["email_verified"] for event in announced] == [False, True]


async def test_a_change_is_stamped_after_the_previous_one_even_when_the_clock_is_behind(gateway: Gateway) -> None:
    user = await _register(gateway)
    token = await gateway.emailed_token(user["email"], VERIFICATION)
    # Another replica whose clock is a little behind the one that registered the account.
    gateway.clock.advance(timedelta(seconds=-2))
    assert (await gateway.client.post("/api/v1/auth/verify-email", json={"token": token})).status_code == 200

    registered, verified = await gateway.account_changes(user["id"])
    assert _changed_at(verified) > _changed_at(registered)


async def test_the_bootstrap_admin_is_announced_when_it_is_made_and_not_again(
    database_url: str, redis_url: str, bootstrap_servers: str
) -> None:
    email = new_email()
    for _ in range(2):
        async with running_gateway(database_url, redis_url, bootstrap_servers, bootstrap_admin_email=email) as running:
            admin = await running.account(email)
            assert admin is not None
            announced = await running.account_changes(str(admin.id))
            assert [(event["email"], event["roles"], event["locale"]) for event in announced] == [
                (email, ["admin"], "en")
            ]


async def test_an_admin_republishes_every_account_as_it_is(gateway: Gateway) -> None:
    users = [await _register(gateway, locale="de") for _ in range(3)]
    token = await gateway.emailed_token(users[0]["email"], VERIFICATION)
    assert (await gateway.client.post("/api/v1/auth/verify-email", json={"token": token})).status_code == 200
    gateway.clock.advance(timedelta(hours=1))

    answer = await gateway.client.post("/api/v1/auth/accounts/republish", headers=await gateway.admin())
    assert answer.status_code == 200, answer.text
    assert answer.json()["republished"] >= len(users) + 1  # these, the admin, and other tests' accounts

    for user, verified in zip(users, (True, False, False), strict=True):
        *earlier, republished = await gateway.account_changes(user["id"])
        assert republished == earlier[-1], "as it is: the last change's facts and time, not the republishing's"
        assert (republished["email_verified"], republished["locale"]) == (verified, "de")
    admin = await gateway.account(ADMIN_EMAIL)
    assert admin is not None
    assert (await gateway.account_changes(str(admin.id)))[-1]["roles"] == ["admin"]


async def test_republishing_goes_in_batches_and_reaches_each_account_once(gateway: Gateway) -> None:
    users = [await _register(gateway) for _ in range(5)]
    resources: AppResources = gateway.app.state.resources
    republished = await republish_accounts(
        resources.session_factory, producer=gateway.settings.service_name, clock=gateway.clock, batch_size=2
    )
    assert republished >= len(users)
    for user in users:
        assert len(await gateway.account_changes(user["id"])) == 2


async def test_only_an_admin_republishes_the_accounts(gateway: Gateway) -> None:
    traveler = await gateway.signed_up()
    refused = await gateway.client.post("/api/v1/auth/accounts/republish", headers=traveler)
    assert refused.status_code == 403
    assert refused.json()["error_code"] == "FORBIDDEN"
    assert (await gateway.client.post("/api/v1/auth/accounts/republish")).status_code == 401
