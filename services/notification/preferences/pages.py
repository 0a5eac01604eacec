"""The small HTML pages of an unsubscribe link, rendered from `html/` (autoescaped)."""

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.notification.preferences.domain import Unsubscription

_ENVIRONMENT = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("html")),
    autoescape=select_autoescape(enabled_extensions=("html",), default=True),
    undefined=StrictUndefined,
)


def _kind_name(unsubscription: Unsubscription) -> str:
    return unsubscription.kind.value.replace("_", " ")


def unsubscribe_form(unsubscription: Unsubscription, *, token: str) -> str:
    """The page a GET of the link shows: what would be switched off, and the button that does it."""
    return _ENVIRONMENT.get_template("unsubscribe.html").render(kind=_kind_name(unsubscription), token=token)


def unsubscribed_page(unsubscription: Unsubscription) -> str:
    return _ENVIRONMENT.get_template("unsubscribed.html").render(kind=_kind_name(unsubscription))
