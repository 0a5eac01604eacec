"""Which local accounts an external identity may act as; how an account's changes are stamped;
which locale tags an account may have."""

from datetime import UTC, datetime, timedelta

import pytest

from gateway.identity.domain import canonical_locale, may_link_external_identity, next_change_time


@pytest.mark.parametrize(
    ("roles", "email_verified", "links"),
    [
        (["traveler"], True, True),
        (["provider"], True, True),
        (["expert"], True, True),
        (["traveler"], False, False),
        (["provider"], False, False),
        (["admin"], True, False),
        (["admin"], False, False),
        (["traveler", "admin"], True, False),
    ],
)
def test_only_a_verified_non_admin_account_links(roles: list[str], email_verified: bool, links: bool) -> None:
    assert may_link_external_identity(roles=roles, email_verified=email_verified) is links


NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_a_change_is_stamped_now_when_now_is_after_the_previous_change() -> None:
    assert next_change_time(None, NOW) == NOW
    assert next_change_time(NOW - timedelta(seconds=1), NOW) == NOW


@pytest.mark.parametrize("behind", [timedelta(0), timedelta(seconds=3)])
def test_a_change_is_stamped_just_after_the_previous_one_when_the_clock_is_not_past_it(behind: timedelta) -> None:
    assert next_change_time(NOW, NOW - behind) == NOW + timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("tag", "canonical"),
    [("en", "en"), ("pt-PT", "pt-PT"), ("PT-pt", "pt-PT"), ("sr-latn", "sr-Latn"), ("es-419", "es-419")],
)
def test_a_known_locale_tag_is_kept_in_its_usual_case(tag: str, canonical: str) -> None:
    assert canonical_locale(tag) == canonical


@pytest.mark.parametrize("tag", ["", "xx", "en-XX", "pt_PT", "en US", "root", "en-US-x-private"])
def test_anything_but_a_known_locale_tag_is_refused(tag: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        canonical_locale(tag)
