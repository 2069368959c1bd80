"""The embeddings wire (bodies, base64 and float answers) and the cutting into requests."""

from __future__ import annotations

import base64
import struct
from array import array
from collections import deque

import orjson
import pytest

from fastcrew.embeddings.batching import MAX_INPUTS, Queued, estimate_tokens, take_batch
from fastcrew.embeddings.wire import from_blob, parse_embeddings, request_body, to_blob
from fastcrew.errors import MalformedResponseError


def answer(*embeddings: object, usage: object = None) -> bytes:
    data = [{"index": i, "embedding": e} for i, e in enumerate(embeddings)]
    return orjson.dumps({"data": data[::-1], "usage": usage})


def test_request_body() -> None:
    body = orjson.loads(request_body("m", ["a", "b"], 256, True))
    assert body == {
        "model": "m",
        "input": ["a", "b"],
        "encoding_format": "base64",
        "dimensions": 256,
    }
    assert orjson.loads(request_body("m", ["a"], None, False)) == {"model": "m", "input": ["a"]}


def test_base64_is_little_endian_float32() -> None:
    values = [0.5, -1.25, 3.0, 1e-3]
    packed = base64.b64encode(struct.pack("<4f", *values)).decode()
    vectors, tokens = parse_embeddings(answer(packed, [1.0, 2.0]), {}, 2)
    assert vectors[0].typecode == "f"
    assert list(vectors[0]) == pytest.approx(values)
    assert list(vectors[1]) == [1.0, 2.0]  # a float list where base64 was asked for
    assert tokens is None


def test_order_follows_the_indexes_and_usage_is_read() -> None:
    vectors, tokens = parse_embeddings(
        answer([1.0], [2.0], [3.0], usage={"prompt_tokens": 7}), {}, 3
    )
    assert [v[0] for v in vectors] == [1.0, 2.0, 3.0]
    assert tokens == 7


@pytest.mark.parametrize(
    ("body", "count", "what"),
    [
        (b"not json", 1, "not valid JSON"),
        (b'{"object": "list"}', 1, "no 'data'"),
        (answer([1.0]), 2, "1 embeddings for 2 inputs"),
        (answer("%%%"), 1, "not valid base64"),
        (answer(base64.b64encode(b"abc").decode()), 1, "not float32s"),
        (answer(["x"]), 1, "non-numbers"),
        (orjson.dumps({"data": [{"index": 5, "embedding": [1.0]}]}), 1, "indexes"),
    ],
)
def test_malformed_answers(body: bytes, count: int, what: str) -> None:
    with pytest.raises(MalformedResponseError, match=what):
        parse_embeddings(body, {"x-request-id": "req-1"}, count)


def test_blob_round_trip() -> None:
    vector = array("f", [1.5, -2.0, 0.1])
    blob = to_blob(vector)
    assert blob == struct.pack("<3f", *vector)
    assert from_blob(blob) == vector


def queue_of(*tokens: int) -> deque[Queued]:
    return deque(Queued(i.to_bytes(4, "big"), str(i), t) for i, t in enumerate(tokens))


def test_batches_cap_inputs_and_tokens() -> None:
    queue = queue_of(*[1] * 5000)
    sizes = []
    while queue:
        sizes.append(len(take_batch(queue)))
    assert sizes == [MAX_INPUTS, MAX_INPUTS, 5000 - 2 * MAX_INPUTS]
    queue = queue_of(4, 4, 4, 9, 1)
    parts = [[q.text for q in take_batch(queue, 10, 8)] for _ in range(4)]
    assert parts == [["0", "1"], ["2"], ["3"], ["4"]]  # 9 alone: over the cap
    assert not queue


def test_estimate_tokens() -> None:
    assert estimate_tokens("") == 1
    assert estimate_tokens("abcd" * 10) == 10
    assert estimate_tokens("é") == 1
