"""Emails rendered from template files, in the recipient's locale.

An email kind is three files in `layouts/` (beside this module; not `templates/`, which would
clash with `templates.py`): `<kind>.subject.txt`, `<kind>.txt` and `<kind>.html`, the last
extending `base.html` (blocks `title`, `content`, `footer`); files starting with `_` are
partials to include: `_facts.html` (a box of `rows`), `_button.html` (`link`, `label`).
`render_email` renders them with the context and makes a
multipart/alternative message: the text body first, the HTML one (autoescaped: every value a
user typed shows as text, never as markup) second. `attach` adds a file after (an invite),
making the message multipart/mixed.

Every text in a context may come from a user, so the message keeps header hygiene: headers
are made one line (a line break in a title can neither break the message nor add a header),
the subject is cut to a readable length, and text that cannot be encoded (a lone surrogate) is
replaced rather than failing the email.

Filters the templates use, formatting in the recipient's locale (Babel):
- `amount | money(currency)`: the amount in the currency's own digits (JPY none, EUR two, KWD
  three), rounded half up as the platform charges it;
- `instant | when(timezone)`: a date and time in the given IANA zone (the listing's own), the
  zone named;
- `day | day`: a calendar date;
- `text | one_line`: text on one line (runs of line breaks and control characters as a space).
The context also holds `locale` (the tag used, `pt-BR`), `text_direction` (`ltr` or `rtl`) and
`babel_locale` (for the filters): a caller's values under these names are replaced.
"""

import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_datetime_format, get_timezone_name
from babel.numbers import format_currency
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from shared.money import UnsupportedCurrency, money

LAYOUTS = Path(__file__).with_name("layouts")
DEFAULT_LOCALE = "en"

# Long enough for the booking reference and most of a listing's title; mail clients show
# about this much of a subject anyway.
SUBJECT_LIMIT = 120
# Whitespace (line breaks of every kind included) and control characters; format characters
# such as emoji's zero-width joiner and the marks of right-to-left text stay.
_NOT_ONE_LINE = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")

# Folding at 78 columns moves spaces across the encoded words of a non-ASCII subject, so it
# reads back differently; a subject is bounded by SUBJECT_LIMIT, so one line under SMTP's
# 998 fits it whole, and longer headers still fold. Bodies are 7-bit (quoted-printable or
# base64 when not ASCII): SMTP servers without 8BITMIME take them as they are.
HEADERS_POLICY = policy.default.clone(max_line_length=998, cte_type="7bit")


def plain_text(text: str) -> str:
    """Text as it can be encoded: a lone surrogate (undecodable input) becomes U+FFFD."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def one_line(text: str) -> str:
    """Text for a header or a one-line field: every run of line breaks, control characters
    and spaces becomes one space."""
    return _NOT_ONE_LINE.sub(" ", plain_text(text)).strip()


def subject_line(text: str) -> str:
    """One line, cut at a grapheme-friendly point to `SUBJECT_LIMIT` with an ellipsis."""
    line = one_line(text)
    if len(line) <= SUBJECT_LIMIT:
        return line
    cut = line[: SUBJECT_LIMIT - 1]
    # Do not leave a combining mark or a joiner dangling at the cut.
    while cut and (unicodedata.combining(cut[-1]) or cut[-1] in "\u200d\ufe0f"):
        cut = cut[:-1]
    return cut.rstrip() + "\u2026"


def email_locale(tag: str | None) -> Locale:
    """The Babel locale of a tag (`pt-BR`, `pt_BR`, `de`); an unknown or invalid one is English."""
    try:
        return Locale.parse((tag or DEFAULT_LOCALE).replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return Locale.parse(DEFAULT_LOCALE)


def format_money(amount: Decimal, currency: str, locale: Locale | str = DEFAULT_LOCALE) -> str:
    """The amount in the currency's own digits, in the locale's way: ¥1,235, €88.00, KWD12.300."""
    try:
        rounded = money(amount, currency)
    except UnsupportedCurrency:
        # Not a currency the platform sells in (an event older than the rule): as it came.
        return f"{amount} {one_line(currency)}"
    return format_currency(rounded, currency.upper(), locale=locale)


def format_when(at: datetime, timezone: str, locale: Locale | str = DEFAULT_LOCALE) -> str:
    """The instant in the zone `timezone` with the zone named: 'Saturday, May 10, 2031 10:00 AM
    (Western European Summer Time)'."""
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    day = format_date(local.date(), "full", locale=locale)
    time = format_time(local, "short", tzinfo=zone, locale=locale)
    both = str(get_datetime_format("long", locale=locale)).replace("'", "").replace("{0}", time).replace("{1}", day)
    return f"{both} ({get_timezone_name(local, 'long', locale=locale)})"


def format_day(day: date, locale: Locale | str = DEFAULT_LOCALE) -> str:
    return format_date(day, "full", locale=locale)


@pass_context
def _money_filter(context: Context, amount: Decimal, currency: str) -> str:
    return format_money(amount, currency, context["babel_locale"])


@pass_context
def _when_filter(context: Context, at: datetime, timezone: str) -> str:
    return format_when(at, timezone, context["babel_locale"])


@pass_context
def _day_filter(context: Context, day: date) -> str:
    return format_day(day, context["babel_locale"])


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(LAYOUTS),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(money=_money_filter, when=_when_filter, day=_day_filter, one_line=one_line)
    return environment


_ENVIRONMENT = _environment()


def render_email(
    template: str, context: Mapping[str, Any], *, sender: str, recipient: str, locale: str = DEFAULT_LOCALE
) -> EmailMessage:
    """The email of kind `template` (its three files in `layouts/`) rendered with `context` in
    `locale` (unknown: English), from `sender` to `recipient`: multipart/alternative, text
    then HTML."""
    babel_locale = email_locale(locale)
    values = {
        **context,
        "babel_locale": babel_locale,
        "locale": str(babel_locale).replace("_", "-"),
        "text_direction": babel_locale.text_direction,
    }
    subject = _ENVIRONMENT.get_template(f"{template}.subject.txt").render(values)
    text = _ENVIRONMENT.get_template(f"{template}.txt").render(values)
    html = _ENVIRONMENT.get_template(f"{template}.html").render(values)
    message = EmailMessage(policy=HEADERS_POLICY)
    message["From"] = one_line(sender)
    message["To"] = one_line(recipient)
    message["Subject"] = subject_line(subject)
    message.set_content(_lines(text))
    message.make_alternative()
    message.attach(_part(_lines(html), subtype="html"))
    return message


def attach(message: EmailMessage, content: bytes, *, mime_type: str, filename: str) -> None:
    """Add a file to a rendered email, which becomes multipart/mixed: its text and HTML
    alternatives, then the file (named on one line)."""
    maintype, _, subtype = mime_type.partition("/")
    part = EmailMessage(policy=HEADERS_POLICY)
    part.set_content(content, maintype=maintype, subtype=subtype, filename=one_line(filename))
    message.make_mixed()
    message.attach(_without_mime_version(part))


def _part(body: str, *, subtype: str) -> EmailMessage:
    part = EmailMessage(policy=HEADERS_POLICY)
    part.set_content(body, subtype=subtype)
    return _without_mime_version(part)


def _without_mime_version(part: EmailMessage) -> EmailMessage:
    # The message's own header; a part repeating it is noise some filters frown on.
    del part["MIME-Version"]
    return part


def _lines(body: str) -> str:
    return plain_text(body).replace("\r\n", "\n").replace("\r", "\n")
