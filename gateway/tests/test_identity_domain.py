"""Which local accounts an external identity may act as."""

import pytest

from gateway.identity.domain import may_link_external_identity


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
