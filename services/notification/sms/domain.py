"""The rules of SMS text and delivery statuses, free of I/O."""

import unicodedata

# Twilio refuses a body over 1600 characters (error 21617); counted here in UTF-16 units, which
# is never fewer than the characters, so a fitted body passes however Twilio counts.
MAX_BODY_UNITS = 1600
ELLIPSIS = "…"
# Control characters and lone surrogates; format characters (joiners of emoji, direction marks)
# stay.
DROPPED_CATEGORIES = frozenset({"Cc", "Cs"})

# How far along a message is, by the status Twilio reports; a callback that arrives late (Twilio
# does not promise their order) never moves a message back.
STATUS_PROGRESS = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "canceled": 3,
    "read": 4,
}
# What a message ends as when it never reached the phone.
NOT_DELIVERED = frozenset({"undelivered", "failed"})


def fit_body(text: str) -> str:
    """`text` as an SMS body Twilio takes: line breaks kept (as `\\n`), other control
    characters and lone surrogates dropped, and anything over 1600 UTF-16 units cut short with
    an ellipsis (Twilio sends up to that in segments; the full text goes by email and in-app)."""
    normalized = text.replace("\r\n", "\n").replace("\r", "\n")
    cleaned = "".join(
        character
        for character in normalized
        if character in "\n\t" or unicodedata.category(character) not in DROPPED_CATEGORIES
    )
    if _utf16_units(cleaned) <= MAX_BODY_UNITS:
        return cleaned
    budget = MAX_BODY_UNITS - _utf16_units(ELLIPSIS)
    kept: list[str] = []
    used = 0
    for character in cleaned:
        units = _utf16_units(character)
        if used + units > budget:
            break
        kept.append(character)
        used += units
    return "".join(kept) + ELLIPSIS


def moves_forward(current: str | None, reported: str) -> bool:
    """Whether a reported status replaces the one recorded: only a later one does (an unknown
    status, one Twilio added since, is taken only when nothing is recorded)."""
    if current is None:
        return True
    return STATUS_PROGRESS.get(reported, -1) > STATUS_PROGRESS.get(current, -1)


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
