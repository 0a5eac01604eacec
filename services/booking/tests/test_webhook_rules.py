"""Webhooks' pure rules: the signature a receiver verifies with the README's recipe, the retry
schedule, and which targets booking refuses to call."""

import hashlib
import hmac
import inspect
import ipaddress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.booking.tests.webhook_receiving import verify
from services.booking.webhooks.consumers import SENT_AS_WEBHOOKS
from services.booking.webhooks.domain import (
    KINDS,
    DisablePolicy,
    RetryPolicy,
    UnsafeTarget,
    is_public_address,
    refuse_private,
    signature_header,
    target_host,
    webhook_data,
)
from services.booking.webhooks.sealing import SealedSecretUnreadable, SecretBox
from shared.contracts.webhooks import WEBHOOK_EVENT_TYPES

NOW = datetime(2031, 5, 4, 9, 0, tzinfo=UTC)
RETRIES = RetryPolicy()


@given(secret=st.text(min_size=1, max_size=60), body=st.binary(max_size=500), timestamp=st.integers(0, 2**40))
def test_a_signed_body_verifies_with_the_readme_recipe(secret: str, body: bytes, timestamp: int) -> None:
    assert verify(secret, signature_header(secret, timestamp=timestamp, body=body), body, now=timestamp)


@given(body=st.binary(min_size=1, max_size=200), flip=st.integers(0, 199))
def test_a_changed_body_or_another_secret_fails_the_recipe(body: bytes, flip: int) -> None:
    signature = signature_header("whsec_one", timestamp=1000, body=body)
    index = flip % len(body)
    tampered = body[:index] + bytes([body[index] ^ 1]) + body[index + 1 :]
    assert not verify("whsec_one", signature, tampered, now=1000)
    assert not verify("whsec_two", signature, body, now=1000)


def test_the_tests_verify_is_the_readmes_recipe_word_for_word() -> None:
    readme = Path("README.md").read_text()
    section = readme[readme.index("## Webhooks") :]
    recipe = section[section.index("```python\n") + len("```python\n") : section.index("```\n", 1)]
    assert inspect.getsource(verify) in recipe


def test_the_recipe_refuses_a_signature_older_or_newer_than_five_minutes() -> None:
    signature = signature_header("whsec_one", timestamp=10_000, body=b"{}")
    assert verify("whsec_one", signature, b"{}", now=10_300)
    assert not verify("whsec_one", signature, b"{}", now=10_301)
    assert not verify("whsec_one", signature, b"{}", now=9_699)


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    # A value a receiver in any language can reproduce.
    assert signature_header("s3cret", timestamp=1700000000, body=b'{"a":1}') == (
        "t=1700000000,v1=" + hmac.new(b"s3cret", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    )


def test_retries_start_at_30_seconds_and_double_up_to_the_cap() -> None:
    waits = [RETRIES.wait(attempt, draw=0.0) for attempt in range(1, 12)]
    assert waits[:4] == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120), timedelta(seconds=240)]
    assert waits[-1] == timedelta(hours=4)


@given(attempts=st.integers(1, 10_000), draw=st.floats(0, 1, exclude_max=True))
def test_a_wait_is_within_its_jitter_and_never_past_the_cap(attempts: int, draw: float) -> None:
    wait = RETRIES.wait(attempts, draw=draw)
    undrawn = RETRIES.wait(attempts, draw=0.0)
    assert undrawn * (1 - RETRIES.jitter) <= wait <= undrawn <= RETRIES.max_wait


@given(draws=st.lists(st.floats(0, 1, exclude_max=True), min_size=40, max_size=40))
def test_a_delivery_is_retried_for_the_window_then_given_up(draws: list[float]) -> None:
    now, attempts, tries = NOW, 0, []
    for draw in draws:
        attempts += 1
        tries.append(now)
        following = RETRIES.next_attempt(attempts, retry_from=NOW, now=now, draw=draw)
        if following is None:
            break
        now = following
    else:
        pytest.fail("never given up")
    assert tries[-1] - NOW <= RETRIES.window
    # Given up only when the next wait would pass the window: it was tried for hours.
    assert tries[-1] + RETRIES.wait(attempts, draw=draws[attempts - 1]) - NOW > RETRIES.window
    assert tries[-1] - NOW > RETRIES.window - RETRIES.max_wait


def test_a_subscription_is_disabled_after_enough_failed_deliveries_or_a_long_failing() -> None:
    policy = DisablePolicy(failed_deliveries=5, failing_for=timedelta(hours=72))
    assert not policy.should_disable(failed_deliveries=4, failing_since=NOW, now=NOW + timedelta(hours=71))
    assert policy.should_disable(failed_deliveries=5, failing_since=None, now=NOW)
    assert policy.should_disable(failed_deliveries=0, failing_since=NOW, now=NOW + timedelta(hours=72))


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::",
    ],
)
def test_private_loopback_link_local_multicast_and_reserved_addresses_are_refused(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))
    with pytest.raises(UnsafeTarget):
        refuse_private([address])


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))
    refuse_private([address])


def test_a_host_with_one_private_address_among_public_ones_is_refused() -> None:
    with pytest.raises(UnsafeTarget):
        refuse_private(["93.184.216.34", "10.0.0.5"])


@given(address=st.ip_addresses())
def test_no_address_off_the_public_internet_is_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    if not address.is_global:
        assert not is_public_address(address)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "gopher://example.com",
        "https://user:pass@example.com/hook",
        "https://user@example.com/hook",
        "https:///hook",
        "not a url",
        "https://example.com:99999/hook",
        "https://example.com/\nhook",
        "https://example.com/" + "a" * 2000,
    ],
)
def test_urls_that_are_not_plain_http_targets_are_refused(url: str) -> None:
    with pytest.raises(UnsafeTarget):
        target_host(url)


def test_an_http_or_https_url_names_its_host() -> None:
    assert target_host("https://hooks.example.com:8443/in?x=1") == "hooks.example.com"
    assert target_host("http://[2606:4700::1]/in") == "2606:4700::1"


def test_every_event_sent_as_a_webhook_has_a_kind_and_every_kind_an_event() -> None:
    assert {event.event_type for event in SENT_AS_WEBHOOKS} == set(KINDS)
    assert {kind for kind, _ in KINDS.values()} == set(WEBHOOK_EVENT_TYPES)


def test_an_answer_to_a_request_says_which_answer_it_was_and_not_the_travelers_account_email() -> None:
    kind, data = webhook_data(
        "booking_request.countered",
        {"request_id": "r", "traveler_email": "me@example.com", "contact_email": "given@example.com"},
    )
    assert kind == "request.answered"
    assert data == {"request_id": "r", "contact_email": "given@example.com", "answer": "countered"}


def test_a_sealed_secret_opens_only_under_its_key_and_does_not_show_the_secret() -> None:
    box = SecretBox("one key")
    sealed = box.seal("whsec_abc")
    assert "whsec_abc" not in sealed
    assert box.open(sealed) == "whsec_abc"
    with pytest.raises(SealedSecretUnreadable):
        SecretBox("another key").open(sealed)
