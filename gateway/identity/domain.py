"""Pure rules of identity."""

from collections.abc import Collection


def may_link_external_identity(*, roles: Collection[str], email_verified: bool) -> bool:
    """Whether an external identity with a verified email may act as the local account that
    has that email. Only if the account's owner proved the address theirs too: else whoever
    registered it first (perhaps before the address's owner ever came) would share the
    account with the provider's user. Never an admin: an identity provider's word is not
    enough to act as one."""
    return email_verified and "admin" not in roles
