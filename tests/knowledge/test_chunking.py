"""CrewAI's character windows: counts, overlap and hashes."""

from __future__ import annotations

import hashlib
import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastcrew.knowledge.chunking import check_window, chunk_text, content_hash


@given(
    text=st.text(max_size=300),
    size=st.integers(min_value=1, max_value=40),
    overlap_share=st.floats(min_value=0, max_value=0.99),
)
def test_windows_follow_crewais_rule(text: str, size: int, overlap_share: float) -> None:
    overlap = int(size * overlap_share)
    step = size - overlap
    chunks = chunk_text(text, size, overlap)
    # CrewAI: a window of `size` characters at every multiple of `step` below len(text)
    assert len(chunks) == math.ceil(len(text) / step)
    for index, chunk in enumerate(chunks):
        assert chunk == text[index * step : index * step + size]
    for before, after in itertools.pairwise(chunks):
        shared = before[step:]  # the overlap, or less where the text ends
        assert after.startswith(shared) or shared.startswith(after)


def test_default_window_on_a_10k_text() -> None:
    text = "".join(chr(ord("a") + i % 26) for i in range(10_000))
    chunks = chunk_text(text, 4000, 200)
    assert [len(chunk) for chunk in chunks] == [4000, 4000, 2400]
    assert chunks[1][:200] == chunks[0][-200:]
    assert chunks[2][:200] == chunks[1][-200:]


def test_a_text_one_window_long_still_gets_the_tail_window() -> None:
    # 0 and 8 are below 10: CrewAI makes a second, shorter window inside the first
    assert chunk_text("0123456789", 10, 2) == ["0123456789", "89"]


def test_empty_text_has_no_chunks() -> None:
    assert chunk_text("", 10, 2) == []


@pytest.mark.parametrize(
    ("size", "overlap", "message"),
    [
        (0, 0, "chunk_size must be positive"),
        (100, 200, r"chunk_overlap must be .* smaller than chunk_size \(100\), got 200"),
        (100, 100, "got 100"),
        (100, -1, "got -1"),
    ],
)
def test_impossible_windows_are_refused(size: int, overlap: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_window(size, overlap)
    with pytest.raises(ValueError, match=message):
        chunk_text("text", size, overlap)


def test_content_hash_is_the_texts_sha256() -> None:
    assert content_hash("hello") == (
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    )
    assert content_hash("café") == hashlib.sha256("café".encode()).hexdigest()
