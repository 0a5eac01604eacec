from services.notification.directory.service import apply_account_changed
from shared.contracts.identity import AccountChanged
from shared.events.consumer import EventHandler, HandlerKey, handles


def account_changed_handler() -> tuple[HandlerKey, EventHandler]:
    """The identity events consumer's entry that keeps the directory of accounts."""
    return handles(AccountChanged, apply_account_changed)
