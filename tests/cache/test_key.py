"""request_key: equal requests share a key, any change to what decides the answer changes it."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from fastcrew.cache import EXCLUDED_FIELDS, KEY_SIZE, normalize_endpoint, request_key

URL = "https://api.openai.com/v1/chat/completions"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=10,
)  # fmt: skip
messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["system", "user", "assistant"]), "content": st.text()}
    ),
    min_size=1,
    max_size=4,
)
bodies = st.fixed_dictionaries(
    {"model": st.sampled_from(["gpt-4o", "gpt-4o-mini", "llama3"]), "messages": messages},
    optional={
        "temperature": st.floats(0, 2, allow_nan=False),
        "seed": st.integers(0, 2**31),
        "max_tokens": st.integers(1, 4096),
        "tools": st.lists(json_values, max_size=2),
        "response_format": json_values,
        "extra": json_values,
    },
)
# The fields that decide an answer, each with a value no generated body holds.
CHANGES: dict[str, Any] = {
    "model": "another-model",
    "temperature": 2.5,
    "seed": -1,
    "max_tokens": 99_999,
    "tools": [{"type": "function", "function": {"name": "never_generated"}}],
    "response_format": {"type": "json_schema", "json_schema": {"name": "never"}},
    "n": 3,
    "top_p": 0.123,
    "tool_choice": "required",
    "stop": ["never"],
}


def reordered(value: Any) -> Any:
    """``value`` with every dict's keys inserted in reverse order."""
    if isinstance(value, dict):
        return {k: reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reordered(item) for item in value]
    return value


@given(bodies)
def test_key_order_does_not_matter(body: dict[str, Any]) -> None:
    key = request_key(URL, body)
    assert len(key) == KEY_SIZE
    assert request_key(URL, reordered(body)) == key


@given(bodies, st.sampled_from(sorted(CHANGES)))
def test_any_deciding_change_changes_the_key(body: dict[str, Any], field: str) -> None:
    assert request_key(URL, {**body, field: CHANGES[field]}) != request_key(URL, body)


@given(bodies, st.data())
def test_a_changed_message_changes_the_key(body: dict[str, Any], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(body["messages"]) - 1))
    changed = [dict(m) for m in body["messages"]]
    changed[index]["content"] += "!"
    assert request_key(URL, {**body, "messages": changed}) != request_key(URL, body)


@given(bodies, st.dictionaries(st.sampled_from(sorted(EXCLUDED_FIELDS)), json_values))
def test_excluded_fields_do_not_change_the_key(body: dict[str, Any], extra: dict) -> None:
    assert request_key(URL, {**body, **extra}) == request_key(URL, body)


def test_stream_and_plain_requests_share_a_key() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    streamed = {**body, "stream": True, "stream_options": {"include_usage": True}}
    assert request_key(URL, streamed) == request_key(URL, body)


def test_nulls_and_integral_floats_at_top_level() -> None:
    body = {"model": "m", "messages": [], "temperature": 1}
    assert request_key(URL, {**body, "temperature": 1.0, "seed": None}) == request_key(URL, body)
    assert request_key(URL, {**body, "temperature": 1.5}) != request_key(URL, body)


def test_n_and_logprobs_stay_keyed() -> None:
    body = {"model": "m", "messages": []}
    assert request_key(URL, {**body, "n": 2}) != request_key(URL, body)
    assert request_key(URL, {**body, "logprobs": True}) != request_key(URL, body)


def test_endpoint_normalisation() -> None:
    body = {"model": "m", "messages": []}
    same = [
        "HTTPS://API.OpenAI.com:443/v1/chat/completions/",
        "https://user:secret@api.openai.com/v1/chat/completions",
        "https://api.openai.com/v1/chat/completions?key=sk-123#frag",
    ]
    for url in same:
        assert normalize_endpoint(url) == "https://api.openai.com/v1/chat/completions"
        assert request_key(url, body) == request_key(URL, body)
    azure = "https://x.openai.azure.com/openai/deployments/d/chat/completions"
    assert normalize_endpoint(f"{azure}?api-key=k&api-version=2024-10-21") == (
        f"{azure}?api-version=2024-10-21"
    )
    other = [
        "http://api.openai.com/v1/chat/completions",
        "https://api.openai.com:8443/v1/chat/completions",
        "https://eu.api.openai.com/v1/chat/completions",
        "https://api.openai.com/v2/chat/completions",
        f"{azure}?api-version=2025-01-01",
    ]
    assert len({request_key(url, body) for url in [URL, *other]}) == len(other) + 1
