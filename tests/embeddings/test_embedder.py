"""``Embedder`` against the fake OpenAI embeddings server: batching, sharing, the store,
429s and learned limits, Azure's path, and keys kept out of errors."""

from __future__ import annotations

import asyncio
from collections import deque
from pathlib import Path

import pytest

from fastcrew.embeddings import Embedder, EmbeddingStore
from fastcrew.embeddings.batching import Queued, estimate_tokens, take_batch
from fastcrew.errors import AuthenticationError, RateLimitError
from fastcrew.limits import RetryPolicy
from fastcrew.limits.shared import SharedBudget
from fastcrew.process_runtime import get_runtime

from .fake_server import FakeEmbeddings, expected_vector, rate_limited

KEY = "sk-fake-embeddings-key-0123456789"
MODEL = "text-embedding-3-small"


def openai(fake: FakeEmbeddings, **config: object) -> dict[str, object]:
    return {
        "provider": "openai",
        "config": {"model": MODEL, "api_key": KEY, "api_base": f"{fake.url}/v1", **config},
    }


def assert_vectors(texts: list[str], vectors: list, dims: int = 8) -> None:
    assert len(vectors) == len(texts)
    for text, vector in zip(texts, vectors, strict=True):
        assert vector.typecode == "f"
        assert list(vector) == expected_vector(MODEL, text, dims)


async def test_vectors_come_back_in_order_as_float32(fake: FakeEmbeddings, tmp_path: Path) -> None:
    embedder = Embedder(openai(fake), cache=tmp_path / "v.sqlite")
    texts = ["alpha", "beta", "gamma"]
    assert_vectors(texts, await embedder.aembed(texts))
    assert fake.bodies == [{"model": MODEL, "encoding_format": "base64"}]
    assert fake.auth == [{"Authorization": f"Bearer {KEY}"}]
    assert await embedder.aembed([]) == []


async def test_dimensions_are_sent_and_keyed(fake: FakeEmbeddings) -> None:
    small = Embedder(openai(fake, dimensions=4))
    assert_vectors(["a"], await small.aembed(["a"]), dims=4)
    assert fake.bodies[-1]["dimensions"] == 4
    assert_vectors(["a"], await Embedder(openai(fake)).aembed(["a"]))  # another key: sent
    assert fake.requests == 2


async def test_a_server_answering_floats(fake: FakeEmbeddings) -> None:
    fake.floats_only = True
    texts = ["one", "two"]
    assert_vectors(texts, await Embedder(openai(fake), cache=False).aembed(texts))


async def test_5000_texts_go_in_requests_of_at_most_2048(fake: FakeEmbeddings) -> None:
    texts = [f"text number {i}" for i in range(5000)]
    embedder = Embedder(openai(fake))
    assert_vectors(texts, await embedder.aembed(texts))
    assert fake.requests >= 3
    assert max(fake.inputs) <= 2048
    assert sum(fake.inputs) == 5000
    assert sorted(fake.texts) == sorted(texts)


async def test_the_token_cap_cuts_requests(fake: FakeEmbeddings) -> None:
    texts = ["x" * 400 + str(i) for i in range(10)]  # ~101 tokens each
    await Embedder(openai(fake), max_request_tokens=250).aembed(texts)
    assert fake.inputs == [2] * 5


async def test_the_same_text_is_embedded_once(fake: FakeEmbeddings) -> None:
    embedder = Embedder(openai(fake), cache=False)
    vectors = await embedder.aembed(["same", "other", "same"])
    assert fake.inputs == [2]
    assert vectors[0] is vectors[2]
    assert embedder.stats.shared == 1


async def test_concurrent_calls_share_requests(fake: FakeEmbeddings) -> None:
    fake.delay_s = 0.05
    first, second = Embedder(openai(fake), cache=False), Embedder(openai(fake), cache=False)
    a, b = await asyncio.gather(first.aembed(["x", "y"]), second.aembed(["y", "z", "x"]))
    assert sorted(fake.texts) == ["x", "y", "z"]
    assert a[0] is b[2]
    assert a[1] is b[0]
    assert second.stats.shared == 2


async def test_concurrent_calls_are_packed_into_requests(fake: FakeEmbeddings) -> None:
    fake.delay_s = 0.05
    embedder = Embedder(openai(fake), cache=False, concurrency=1)
    first = asyncio.create_task(embedder.aembed(["first"]))
    await asyncio.sleep(0.01)  # its request is out: the one request slot is busy
    rows = await asyncio.gather(*(embedder.aembed([f"row {i}"]) for i in range(100)))
    assert_vectors(["first"], await first)
    assert_vectors([f"row {i}" for i in range(100)], [vectors[0] for vectors in rows])
    assert fake.inputs == [1, 100]  # the rows waited together, then went in one request
    resources = get_runtime().loop_state().resources
    assert not [name for name in resources if name.startswith("embeddings.batcher")]  # idle
    assert resources["embeddings.slots"] == {}


async def test_the_store_serves_a_second_embedder(fake: FakeEmbeddings, tmp_path: Path) -> None:
    path = tmp_path / "vectors.sqlite"
    texts = [f"row {i}" for i in range(300)]
    first = Embedder(openai(fake), cache=path)
    await first.aembed(texts)
    assert first.store is not None
    await first.store.aflush()
    sent = fake.requests
    with EmbeddingStore(path) as other:  # its own object and connections on the same file
        assert other.count() == 300
        second = Embedder(openai(fake), cache=other)
        assert_vectors(texts, await second.aembed(texts))
    assert fake.requests == sent
    assert second.stats.stored == 300
    assert second.stats.requests == 0


async def test_the_default_store_is_under_the_storage_dir(
    fake: FakeEmbeddings, storage_dir: Path
) -> None:
    embedder = Embedder(openai(fake))
    await embedder.aembed(["kept"])
    assert embedder.store is not None
    assert embedder.store.path == str(storage_dir / "embeddings.sqlite")
    await embedder.store.aflush()
    assert await asyncio.to_thread(Path(embedder.store.path).exists)
    await Embedder(openai(fake)).aembed(["kept"])
    assert fake.requests == 1


async def test_a_429_pauses_and_is_retried(fake: FakeEmbeddings) -> None:
    fake.errors = [rate_limited(50), rate_limited(50)]
    embedder = Embedder(openai(fake), cache=False)
    assert_vectors(["r"], await embedder.aembed(["r"]))
    limiter = embedder.limiter()
    assert limiter.stats.rate_limited == 2
    assert limiter.stats.retries == 2
    assert fake.requests == 3


async def test_429s_beyond_the_policy_raise(fake: FakeEmbeddings) -> None:
    fake.errors = [rate_limited(10)] * 3
    embedder = Embedder(openai(fake), cache=False, retry=RetryPolicy(max_attempts=2))
    with pytest.raises(RateLimitError) as caught:
        await embedder.aembed(["r"])
    assert caught.value.attempts == 2
    assert fake.requests == 2


async def test_limits_are_learned_from_headers(fake: FakeEmbeddings) -> None:
    fake.headers = {
        "x-ratelimit-limit-requests": "3000",
        "x-ratelimit-limit-tokens": "1000000",
        "x-ratelimit-remaining-requests": "2999",
        "x-ratelimit-remaining-tokens": "999990",
        "x-ratelimit-reset-requests": "20ms",
        "x-ratelimit-reset-tokens": "1ms",
    }
    embedder = Embedder(openai(fake), cache=False)
    await embedder.aembed(["learn"])
    source = embedder.limiter().source
    assert isinstance(source, SharedBudget)
    requests, tokens = source.budget.requests, source.budget.tokens
    assert requests is not None
    assert requests.rate == pytest.approx(3000 / 60)
    assert tokens is not None
    assert tokens.rate == pytest.approx(1_000_000 / 60)
    assert embedder.limiter().stats.settled_tokens == 2  # usage.prompt_tokens, not the estimate


async def test_a_refused_key_is_not_echoed(fake: FakeEmbeddings) -> None:
    body = {
        "error": {"message": f"Incorrect API key provided: {KEY}", "type": "invalid_request_error"}
    }
    fake.errors = [(401, body, {})]
    with pytest.raises(AuthenticationError) as caught:
        await Embedder(openai(fake), cache=False).aembed(["secret"])
    assert KEY not in str(caught.value)
    assert KEY.encode() not in (caught.value.body or b"")


async def test_a_failed_batch_fails_the_call_and_leaves_nothing_pending(
    fake: FakeEmbeddings,
) -> None:
    fake.errors = [(400, {"error": {"message": "bad input"}}, {})]
    embedder = Embedder(openai(fake), cache=False)
    with pytest.raises(Exception, match="bad input"):
        await embedder.aembed(["a", "b"])
    assert_vectors(["a", "b"], await embedder.aembed(["a", "b"]))  # nothing left in flight


async def test_azure_deployment_path(fake: FakeEmbeddings) -> None:
    spec = {
        "provider": "azure",
        "config": {"deployment_id": "emb", "model_name": MODEL, "api_key": KEY,
                   "api_base": fake.url, "api_version": "2024-10-21"},
    }  # fmt: skip
    texts = ["az", "ure"]
    assert_vectors(texts, await Embedder(spec, cache=False).aembed(texts))
    assert fake.paths == ["/openai/deployments/emb/embeddings?api-version=2024-10-21"]
    assert fake.auth == [{"api-key": KEY}]


async def test_ollama_sends_floats(fake: FakeEmbeddings) -> None:
    spec = {"provider": "ollama", "config": {"model": MODEL, "url": f"{fake.url}/api/embeddings"}}
    assert_vectors(["llama"], await Embedder(spec, cache=False).aembed(["llama"]))
    assert fake.paths == ["/v1/embeddings"]
    assert fake.bodies == [{"model": MODEL}]
    assert fake.auth == [{}]


async def test_sync_embed_and_the_crewai_call(fake: FakeEmbeddings) -> None:
    embedder = Embedder(openai(fake), cache=False)
    # From a thread: the fake server answers on this test's loop meanwhile.
    assert_vectors(["sync"], await asyncio.to_thread(embedder.embed, ["sync"]))
    assert_vectors(["call"], await asyncio.to_thread(embedder, ["call"]))
    with pytest.raises(TypeError, match="not one string"):
        embedder.embed("one string")


async def test_requests_are_cut_as_take_batch_cuts(fake: FakeEmbeddings) -> None:
    texts = ["x" * (4 * n - 1) + str(i) for i, n in enumerate([3, 3, 3, 9, 1, 2, 2, 5, 1, 1])]
    embedder = Embedder(openai(fake), cache=False, max_inputs=3, max_request_tokens=8)
    assert_vectors(texts, await embedder.aembed(texts))
    queue = deque(Queued(b"", text, estimate_tokens(text)) for text in texts)
    expected = []
    while queue:
        expected.append([q.text for q in take_batch(queue, 3, 8)])
    assert [len(batch) for batch in expected] == [2, 1, 1, 3, 3]  # both caps, one over
    assert fake.inputs == [len(batch) for batch in expected]
    assert fake.texts == texts


async def test_parts_come_from_the_store_then_as_each_request_answers(
    fake: FakeEmbeddings, tmp_path: Path
) -> None:
    embedder = Embedder(openai(fake), cache=tmp_path / "v.sqlite", max_inputs=2)
    await embedder.aembed(["b"])  # in the store from now on
    texts = ["a", "b", "c", "a", "d", "e"]
    parts = [part async for part in embedder.aembed_parts(texts)]
    assert parts[0][0] == [1]  # the store's first
    assert sorted(len(positions) for positions, _ in parts[1:]) == [2, 3]  # [a, c, a], [d, e]
    assert fake.inputs == [1, 2, 2]
    vectors: dict[int, object] = {}
    for positions, part in parts:
        assert len(positions) == len(part)
        vectors.update(zip(positions, part, strict=True))
    assert sorted(vectors) == list(range(len(texts)))
    assert_vectors(texts, [vectors[i] for i in range(len(texts))])
    assert vectors[0] is vectors[3]


async def test_a_failed_request_fails_its_part(fake: FakeEmbeddings) -> None:
    fake.errors = [(400, {"error": {"message": "bad input"}}, {})]
    embedder = Embedder(openai(fake), cache=False, max_inputs=1, concurrency=1)
    with pytest.raises(Exception, match="bad input"):
        async for _ in embedder.aembed_parts(["a", "b"]):
            pass
    assert_vectors(["a", "b"], await embedder.aembed(["a", "b"]))  # nothing left in flight
    assert get_runtime().loop_state().resources["embeddings.slots"] == {}
