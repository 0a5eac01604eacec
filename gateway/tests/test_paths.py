"""Which request paths the gateway refuses before its rate limits, route policy and proxy read
them: `.`, `..` and empty segments, in plain or percent-encoded form, and separators hidden
inside a segment."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.proxy.paths import path_fault

# What a plain segment of a public path is made of (ids, slugs, names with dots, encoded text).
PLAIN_SEGMENT = st.one_of(
    st.text(alphabet=st.sampled_from("abcdefxyz0123456789-_~."), min_size=1, max_size=12).filter(
        lambda segment: segment.strip(".") != ""
    ),
    st.sampled_from(["caf%C3%A9", "b%1F%20", "%2e%2e%2e"]),
)
REFUSED_SEGMENTS = ["", ".", "..", "%2e", "%2E%2e", ".%2e", "%2F", "a%2fb", "..%2F..", "a%5Cb", "a\\b"]


@given(segments=st.lists(PLAIN_SEGMENT, min_size=1, max_size=6))
def test_a_path_of_plain_segments_passes(segments: list[str]) -> None:
    assert path_fault("/" + "/".join(segments)) is None


@given(
    segments=st.lists(PLAIN_SEGMENT, min_size=1, max_size=6),
    refused=st.sampled_from(REFUSED_SEGMENTS),
    position=st.integers(min_value=0, max_value=6),
)
def test_a_path_with_a_dot_empty_or_hidden_separator_segment_anywhere_is_refused(
    segments: list[str], refused: str, position: int
) -> None:
    segments.insert(min(position, len(segments)), refused)
    assert path_fault("/" + "/".join(segments)) is not None


@pytest.mark.parametrize(
    "path",
    ["/api/v1/listings/", "/api/v1//listings", "api/v1/listings", "/api/v1/listings/..", "/api/v1/./listings"],
)
def test_trailing_slashes_relative_paths_and_dots_at_either_end_are_refused(path: str) -> None:
    assert path_fault(path) is not None


def test_the_root_and_dots_inside_a_name_pass() -> None:
    assert path_fault("/") is None
    assert path_fault("/api/v1/listings/v1.2..3/quote") is None
    assert path_fault("/.well-known/jwks.json") is None
