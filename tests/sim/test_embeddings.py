"""``POST /v1/embeddings``: OpenAI's wire (the official SDK, both encodings), the vectors'
properties, errors, auth, rate limits, faults and the ``embedding_*`` counters."""

from __future__ import annotations

import asyncio
import base64
import math
from array import array
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp
import openai
import pytest

from fastcrew._json import dumps, loads
from fastcrew.sim import Simulator, serve
from fastcrew.sim.embeddings import MAX_INPUTS, embed, text_words

KEY = "sim-not-a-real-key"
SMALL = "text-embedding-3-small"
DOCS = [
    "The cat sat on the warm mat by the kitchen door",
    "Quarterly revenue grew twelve percent on strong cloud sales",
    "How to reset your password: open settings, choose security, reset password",
    "Paris is the capital of France and its largest city",
]


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0) as sdk:
        yield sdk


async def vectors(client: openai.AsyncOpenAI, texts: Any, **options: Any) -> list[list[float]]:
    answer = await client.embeddings.create(model=SMALL, input=texts, **options)
    assert [d.index for d in answer.data] == list(range(len(answer.data)))
    return [d.embedding for d in answer.data]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    return math.fsum(x * y for x, y in zip(a, b, strict=True))


async def post(
    session: aiohttp.ClientSession,
    sim: Simulator,
    payload: dict[str, Any] | bytes,
    key: str | None = None,
) -> tuple[int, Any, Any]:
    """POST to the embeddings endpoint; returns (status, headers, parsed body or raw)."""
    data = payload if isinstance(payload, bytes) else dumps(payload)
    headers = {"Authorization": f"Bearer {key}"} if key else None
    async with session.post(f"{sim.base_url}/embeddings", data=data, headers=headers) as resp:
        raw = await resp.read()
        try:
            return resp.status, resp.headers, loads(raw)
        except ValueError:
            return resp.status, resp.headers, raw


# -- the wire through the SDK ---------------------------------------------------------------


async def test_sdk_base64_default(client: openai.AsyncOpenAI) -> None:
    answer = await client.embeddings.create(model=SMALL, input=DOCS)
    assert answer.object == "list"
    assert answer.model == SMALL
    assert answer.usage.prompt_tokens == answer.usage.total_tokens > 0
    assert len(answer.data) == len(DOCS)
    for item in answer.data:
        assert item.object == "embedding"
        assert len(item.embedding) == 1536
        assert math.isclose(math.fsum(x * x for x in item.embedding), 1.0, rel_tol=1e-5)


async def test_float_and_base64_give_the_same_vectors(client: openai.AsyncOpenAI) -> None:
    decoded = await vectors(client, DOCS)  # the SDK asks for base64 and decodes it
    packed = await vectors(client, DOCS, encoding_format="base64")  # asked: left encoded
    plain = await vectors(client, DOCS, encoding_format="float")
    assert plain == decoded  # float32 values in both encodings
    unpacked = [array("f", base64.b64decode(text)).tolist() for text in packed]  # type: ignore[arg-type]
    assert unpacked == plain


async def test_raw_wire_shapes(session: aiohttp.ClientSession, sim: Simulator) -> None:
    status, _, body = await post(session, sim, {"model": SMALL, "input": "hello world"})
    assert status == 200
    assert set(body) == {"object", "data", "model", "usage"}
    assert body["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    assert set(body["data"][0]) == {"object", "index", "embedding"}
    assert isinstance(body["data"][0]["embedding"], list)  # float unless asked otherwise
    status, _, b64 = await post(
        session, sim, {"model": SMALL, "input": "hello world", "encoding_format": "base64"}
    )
    assert status == 200
    assert isinstance(b64["data"][0]["embedding"], str)


async def test_deterministic_across_requests_and_seeds(client: openai.AsyncOpenAI) -> None:
    first = await vectors(client, DOCS)
    assert await vectors(client, list(reversed(DOCS))) == list(reversed(first))
    async with (
        serve(seed=7) as other,
        openai.AsyncOpenAI(base_url=other.base_url, api_key=KEY, max_retries=0) as sdk,
    ):
        assert await vectors(sdk, DOCS) == first


# -- the vectors ----------------------------------------------------------------------------


async def test_shared_words_are_near_and_unrelated_texts_are_not(
    client: openai.AsyncOpenAI,
) -> None:
    docs = await vectors(client, DOCS)
    queries = await vectors(
        client,
        [
            "which cat sat by the door?",
            "cloud revenue growth",
            "reset password",
            "capital of France",
        ],
    )
    for i, query in enumerate(queries):
        scores = [cosine(query, doc) for doc in docs]
        assert max(range(len(docs)), key=scores.__getitem__) == i, scores
        assert scores[i] > 0.3, scores
        assert all(abs(s) < 0.15 for j, s in enumerate(scores) if j != i), scores
    same, other = (
        await vectors(client, ["The cat sat on the mat.", "A CAT sat on a mat"]),
        await vectors(client, ["Interest rates rose again in March"]),
    )
    assert cosine(same[0], same[1]) > 0.99  # case, punctuation and stop words aside
    assert abs(cosine(same[0], other[0])) < 0.15


def test_unrelated_long_texts_are_near_zero() -> None:
    words = [f"w{i}x" for i in range(2000)]
    cosines = []
    for k in range(20):
        a = embed(words[k * 100 : k * 100 + 50], 1536)
        b = embed(words[k * 100 + 50 : k * 100 + 100], 1536)
        dense_a, dense_b = dict(zip(*a, strict=True)), dict(zip(*b, strict=True))
        cosines.append(sum(v * dense_b.get(i, 0.0) for i, v in dense_a.items()))
    assert max(map(abs, cosines)) < 0.15


def test_words_without_content_still_give_a_unit_vector() -> None:
    assert text_words("The, the, THE!") == ["the", "the", "the"]  # only stop words: kept
    assert text_words("the cats") == ["cats"]
    slots, values = embed(text_words("?!"), 16, "?!")
    assert len(slots) == 1
    assert list(values) == [1.0]


async def test_token_arrays(client: openai.AsyncOpenAI) -> None:
    one = await vectors(client, [1, 2, 3])
    many = await vectors(client, [[1, 2, 3], [3, 2, 1], [7, 8, 9]])
    assert one[0] == many[0]
    assert cosine(many[0], many[1]) > 0.5  # the same tokens
    assert abs(cosine(many[0], many[2])) < 0.15
    answer = await client.embeddings.create(model=SMALL, input=[[5] * 10, [6] * 3])
    assert answer.usage.prompt_tokens == 13


async def test_dimensions(session: aiohttp.ClientSession) -> None:
    async with (
        serve(embedding_dimensions=64) as sim,
        openai.AsyncOpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0) as sdk,
    ):

        async def size(model: str, **options: Any) -> int:
            answer = await sdk.embeddings.create(model=model, input="hello", **options)
            return len(answer.data[0].embedding)

        assert await size(SMALL) == 1536
        assert await size("text-embedding-ada-002") == 1536
        assert await size("text-embedding-3-large") == 3072
        assert await size("text-embedding-3-large", dimensions=256) == 256
        assert await size("my-local-embedder") == 64
        assert await size("my-local-embedder", dimensions=8) == 8
        for model, dims in ((SMALL, 1537), ("my-local-embedder", 65), (SMALL, 0)):
            with pytest.raises(openai.BadRequestError) as caught:
                await size(model, dimensions=dims)
            assert caught.value.param == "dimensions"
        with pytest.raises(openai.BadRequestError, match="does not support specifying"):
            await size("text-embedding-ada-002", dimensions=512)


# -- errors, auth, limits, faults, counters -------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        ({"model": SMALL, "input": ""}, "input"),
        ({"model": SMALL, "input": []}, "input"),
        ({"model": SMALL, "input": ["a", ""]}, "input"),
        ({"model": SMALL, "input": [[1], []]}, "input"),
        ({"model": SMALL, "input": ["a", 1]}, "input"),
        ({"model": SMALL, "input": [-1]}, "input"),
        ({"model": SMALL, "input": {"text": "a"}}, "input"),
        ({"model": SMALL, "input": ["a"] * (MAX_INPUTS + 1)}, "input"),
        ({"model": SMALL, "input": "x" * (4 * 8192 + 1)}, "input"),
        ({"model": SMALL, "input": ["x" * 4 * 8000] * 40}, "input"),  # 320,000 tokens
        ({"model": SMALL}, "input"),
        ({"input": "a"}, "model"),
        ({"model": SMALL, "input": "a", "encoding_format": "int8"}, "encoding_format"),
        ({"model": SMALL, "input": "a", "dimensions": "8"}, "dimensions"),
        ({"model": SMALL, "input": "a", "user": 5}, "user"),
    ],
)
async def test_invalid_requests(
    session: aiohttp.ClientSession, sim: Simulator, payload: dict[str, Any], param: str
) -> None:
    status, _, body = await post(session, sim, payload)
    assert status == 400, body
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["param"] == param


async def test_not_json(session: aiohttp.ClientSession, sim: Simulator) -> None:
    status, _, body = await post(session, sim, b"{")
    assert status == 400
    assert body["error"]["type"] == "invalid_request_error"


async def test_2048_inputs_are_accepted(client: openai.AsyncOpenAI) -> None:
    texts = [f"chunk {i} about topic {i % 7}" for i in range(MAX_INPUTS)]
    assert len(await vectors(client, texts, dimensions=32)) == MAX_INPUTS


async def test_auth(session: aiohttp.ClientSession) -> None:
    async with serve(api_key=KEY) as sim:
        async with openai.AsyncOpenAI(base_url=sim.base_url, api_key="wrong", max_retries=0) as bad:
            with pytest.raises(openai.AuthenticationError):
                await bad.embeddings.create(model=SMALL, input="a")
        status, _, _ = await post(session, sim, {"model": SMALL, "input": "a"}, key=KEY)
        assert status == 200
        stats = sim.stats()
    assert stats["embedding_by_status"] == {"200": 1, "401": 1}
    assert stats["embedding_requests"] == 2


async def test_tpm_429(session: aiohttp.ClientSession) -> None:
    async with serve(tpm=100) as sim:
        text = "x" * 4 * 80  # 80 tokens
        status, headers, _ = await post(session, sim, {"model": SMALL, "input": text})
        assert status == 200
        assert headers["x-ratelimit-limit-tokens"] == "100"
        assert headers["x-ratelimit-remaining-tokens"] == "20"
        status, headers, body = await post(session, sim, {"model": SMALL, "input": text})
        assert status == 429
        assert body["error"]["code"] == "rate_limit_exceeded"
        assert body["error"]["type"] == "tokens"
        assert int(headers["retry-after"]) >= 1
        async with openai.AsyncOpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0) as sdk:
            with pytest.raises(openai.RateLimitError):
                await sdk.embeddings.create(model=SMALL, input=text)
        stats = sim.stats()
    assert stats["embedding_rate_limited"] == {"requests": 0, "tokens": 2}
    assert stats["embedding_by_status"] == {"200": 1, "429": 2}
    assert stats["rate_limited"] == {"requests": 0, "tokens": 0}  # the chat counters


async def test_rate_limits_are_shared_with_chat(session: aiohttp.ClientSession) -> None:
    async with serve(rpm=2) as sim:
        assert (await post(session, sim, {"model": SMALL, "input": "a"}))[0] == 200
        assert (await post(session, sim, {"model": SMALL, "input": "b"}))[0] == 200
        url = f"{sim.base_url}/chat/completions"
        chat = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        async with session.post(url, data=dumps(chat)) as resp:
            assert resp.status == 429


async def test_faults(session: aiohttp.ClientSession) -> None:
    async with serve(fail_rate=1.0) as sim:
        status, _, body = await post(session, sim, {"model": SMALL, "input": "a"})
        assert status == 500
        assert body["error"]["type"] == "server_error"
        assert sim.stats()["embedding_faults"]["fail"] == 1
    async with serve(malformed_rate=1.0) as sim:
        status, _, raw = await post(session, sim, {"model": SMALL, "input": "a"})
        assert status == 200
        assert isinstance(raw, bytes)
    async with serve(overloaded_rate=1.0) as sim:
        status, _, _ = await post(session, sim, {"model": SMALL, "input": "a"})
        assert status == 503


async def test_reset_fault_drops_the_connection(session: aiohttp.ClientSession) -> None:
    async with serve(reset_rate=1.0) as sim:
        with pytest.raises(aiohttp.ClientError):
            await post(session, sim, {"model": SMALL, "input": "a"})
        assert sim.stats()["embedding_faults"]["reset"] == 1


async def test_latency_and_quota(session: aiohttp.ClientSession) -> None:
    async with serve(latency_ms=150) as sim:
        loop = asyncio.get_running_loop()
        start = loop.time()
        assert (await post(session, sim, {"model": SMALL, "input": "a"}))[0] == 200
        assert loop.time() - start >= 0.14
    async with serve(quota_after=0) as sim:
        status, _, body = await post(session, sim, {"model": SMALL, "input": "a"})
        assert status == 429
        assert body["error"]["code"] == "insufficient_quota"


async def test_stats_counters_and_reset(client: openai.AsyncOpenAI, sim: Simulator) -> None:
    first = await client.embeddings.create(model=SMALL, input=DOCS)
    second = await client.embeddings.create(model=SMALL, input="one more")
    with pytest.raises(openai.BadRequestError):
        await client.embeddings.create(model=SMALL, input="")
    stats = sim.stats()
    assert stats["embedding_requests"] == 3
    assert stats["embedding_inputs"] == len(DOCS) + 1
    assert stats["embedding_tokens"] == first.usage.prompt_tokens + second.usage.prompt_tokens
    assert stats["embedding_by_status"] == {"200": 2, "400": 1}
    assert stats["requests_total"] == 0  # the chat counters are untouched
    assert stats["by_status"] == {}
    assert stats["admitted"] == 0
    sim.reset_stats()
    stats = sim.stats()
    assert (stats["embedding_requests"], stats["embedding_inputs"]) == (0, 0)
    assert stats["embedding_by_status"] == {}


async def test_other_methods_are_405(session: aiohttp.ClientSession, sim: Simulator) -> None:
    async with session.get(f"{sim.base_url}/embeddings") as resp:
        assert resp.status == 405
        assert resp.headers["Allow"] == "POST"
