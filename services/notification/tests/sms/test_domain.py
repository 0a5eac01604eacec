"""SMS bodies keep what a person wrote within what the provider takes; a delivery status only
moves forward."""

from hypothesis import given
from hypothesis import strategies as st

from services.notification.sms.domain import MAX_BODY_UNITS, fit_body, moves_forward


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@given(st.text(max_size=3000))
def test_any_text_fits_what_the_provider_takes(text: str) -> None:
    body = fit_body(text)
    assert _units(body) <= MAX_BODY_UNITS
    assert not any(ord(character) < 32 and character not in "\n\t" for character in body)
    body.encode("utf-8")  # no lone surrogate left


@given(st.text(alphabet=st.characters(exclude_categories=["Cc", "Cs"]), max_size=1000))
def test_text_within_the_limit_is_kept_as_written(text: str) -> None:
    assert fit_body(text) == text


def test_line_breaks_of_any_kind_become_newlines_and_other_controls_go() -> None:
    assert fit_body("Line one\r\nLine two\rLine three\nTab\there\x00\x07\x1b!") == (
        "Line one\nLine two\nLine three\nTab\there!"
    )


def test_emoji_sequences_and_direction_marks_stay_whole() -> None:
    greeting = "مرحبا بالعالم"
    text = f"Family 👨\u200d👩\u200d👧 \u200f{greeting}\u200e ok"
    assert fit_body(text) == text


def test_a_long_text_is_cut_at_a_whole_character_with_an_ellipsis() -> None:
    body = fit_body("🧳" * 1000)
    assert body == "🧳" * 799 + "…"
    assert _units(body) == 1599


def test_a_status_only_moves_forward() -> None:
    assert moves_forward(None, "sent")
    assert moves_forward("queued", "sent")
    assert moves_forward("sent", "delivered")
    assert moves_forward("sent", "undelivered")
    assert moves_forward("delivered", "read")
    assert not moves_forward("delivered", "sent")
    assert not moves_forward("delivered", "failed")
    assert not moves_forward("sent", "sent")
    assert not moves_forward("sent", "a-status-twilio-adds-later")
    assert moves_forward(None, "a-status-twilio-adds-later")
