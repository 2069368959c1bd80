"""The LLM client over real loopback HTTP against the simulator."""

import asyncio
import logging

import httpx
import pytest
from pydantic import BaseModel

from fastcrew import LLM, errors
from fastcrew.limits import RateLimit, RetryPolicy
from fastcrew.llm import ChatStream, close_session
from fastcrew.sim import serve

NO_RETRY = RetryPolicy(max_attempts=1)
UNLIMITED = RateLimit(rpm=None, tpm=None)


def llm_for(sim, **kwargs) -> LLM:
    """An LLM on the simulator with no limiter or retries of its own: the raw client."""
    kwargs.setdefault("retry", NO_RETRY)
    kwargs.setdefault("rate_limit", UNLIMITED)
    return LLM("openai/sim-model", base_url=sim.base_url, **kwargs)


async def test_answer_usage_and_wire_fields(sim):
    llm = llm_for(sim, temperature=0.2, max_tokens=64)
    resp = await llm.achat("Tell me about topic-42")
    assert "topic-42" in resp.content
    assert resp.finish_reason == "stop"
    assert resp.usage.prompt_tokens > 0
    assert resp.usage.completion_tokens > 0
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens
    assert resp.model == "sim-model"
    assert resp.id
    stats = sim.stats()
    assert stats["by_status"] == {"200": 1}
    assert stats["prompt_tokens"] == resp.usage.prompt_tokens


async def test_message_lists_and_overrides(sim):
    llm = llm_for(sim, max_tokens=1000)
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "second question"},
    ]
    resp = await llm.achat(messages, max_tokens=3)
    assert "second question" in resp.content or resp.finish_reason == "length"
    assert resp.finish_reason == "length"
    assert resp.usage.completion_tokens <= 3


async def test_same_request_same_answer_across_servers():
    async with serve(seed=7) as a, serve(seed=7) as b, serve(seed=8) as c:
        first = await llm_for(a).achat("deterministic?")
        again = await llm_for(a).achat("deterministic?")
        other_server = await llm_for(b).achat("deterministic?")
        other_seed = await llm_for(c).achat("deterministic?")
    assert first.content == again.content == other_server.content
    assert other_seed.content != first.content


class Person(BaseModel):
    name: str
    age: int
    tags: list[str]


async def test_json_schema_answers_validate(sim):
    resp = await llm_for(sim).achat("Describe someone", response_format=Person)
    person = Person.model_validate_json(resp.content)
    assert isinstance(person.age, int)


async def test_json_object_answers_parse(sim):
    resp = await llm_for(sim).achat("Give JSON", response_format={"type": "json_object"})
    import json

    assert isinstance(json.loads(resp.content), dict)


async def test_streaming_yields_deltas_then_usage(sim):
    llm = llm_for(sim)
    whole = await llm.achat("stream me please")
    stream = await llm.achat("stream me please", stream=True)
    assert isinstance(stream, ChatStream)
    with pytest.raises(RuntimeError, match="not finished"):
        _ = stream.response
    deltas = [d async for d in stream]
    assert len(deltas) > 2
    text = "".join(d.content for d in deltas)
    assert text == whole.content
    assert all(d.usage is None for d in deltas[:-1])
    assert deltas[-1].content == ""
    assert deltas[-1].usage == whole.usage
    assert stream.response.content == whole.content
    assert stream.response.finish_reason == "stop"


async def test_stream_closed_early_releases_the_connection(sim):
    llm = llm_for(sim)
    async with await llm.achat("a long answer " * 5, stream=True) as stream:
        async for _ in stream:
            break
    # the connection pool is still usable afterwards
    assert (await llm.achat("after")).content


async def test_rate_limit_headers_are_read_on_every_response():
    async with serve(rpm=1000, tpm=100_000) as sim:
        resp = await llm_for(sim).achat("hello")
    snap = resp.rate_limits
    assert snap.limit_requests == 1000
    assert snap.limit_tokens == 100_000
    assert snap.remaining_requests == 999
    assert 0 < snap.remaining_tokens < 100_000
    assert snap.reset_requests is not None


async def test_429_becomes_rate_limit_error_with_retry_after():
    async with serve(rpm=1) as sim:
        llm = llm_for(sim)
        await llm.achat("one")
        with pytest.raises(errors.RateLimitError) as info:
            await llm.achat("two")
    assert info.value.status == 429
    assert info.value.limit == "requests"
    assert info.value.retry_after > 0
    assert info.value.retryable


async def test_quota_exhausted():
    async with serve(quota_after=1) as sim:
        llm = llm_for(sim)
        await llm.achat("one")
        with pytest.raises(errors.QuotaExhaustedError):
            await llm.achat("two")


async def test_wrong_key_is_authentication_error_and_key_never_leaks(caplog):
    secret = "sk-test-0123456789abcdefghij"
    async with serve(api_key="sk-right-key-000000000000") as sim:
        llm = llm_for(sim, api_key=secret)
        with caplog.at_level(logging.DEBUG), pytest.raises(errors.AuthenticationError) as info:
            await llm.achat("hi")
        good = llm_for(sim, api_key="sk-right-key-000000000000")
        assert (await good.achat("hi")).content
    assert info.value.status == 401
    for text in (str(info.value), repr(info.value), repr(llm), caplog.text):
        assert secret not in text


async def test_bad_request(sim):
    with pytest.raises(errors.BadRequestError, match="400"):
        await llm_for(sim).achat([{"content": "no role"}])


async def test_server_error():
    async with serve(fail_rate=1.0) as sim:
        with pytest.raises(errors.ServerError) as info:
            await llm_for(sim).achat("x")
    assert info.value.status == 500
    assert info.value.retryable


async def test_connection_reset():
    async with serve(reset_rate=1.0) as sim:
        with pytest.raises(errors.LLMConnectionError):
            await llm_for(sim).achat("x")


async def test_stall_hits_the_per_call_timeout():
    async with serve(stall_rate=1.0) as sim:
        with pytest.raises(errors.LLMTimeoutError, match=r"0\.3 s"):
            await llm_for(sim, timeout=0.3).achat("x")


async def test_malformed_body():
    async with serve(malformed_rate=1.0) as sim:
        with pytest.raises(errors.MalformedResponseError):
            await llm_for(sim).achat("x")
        stream = await llm_for(sim).achat("x", stream=True)
        with pytest.raises(errors.MalformedResponseError):
            await anext(aiter(stream))


async def test_connection_refused():
    async with serve() as sim:
        url = sim.base_url
    with pytest.raises(errors.LLMConnectionError, match=r"127\.0\.0\.1"):
        await LLM("m", base_url=url, timeout=2, retry=NO_RETRY).achat("x")


async def test_streaming_errors_raise_before_iteration():
    async with serve(rpm=1) as sim:
        llm = llm_for(sim)
        await llm.achat("one")
        with pytest.raises(errors.RateLimitError):
            await llm.achat("two", stream=True)


async def test_concurrent_calls_share_one_keep_alive_session():
    async with serve(latency_ms=50) as sim:
        llm = llm_for(sim)
        results = await asyncio.gather(*(llm.achat(f"q{i}") for i in range(50)))
        stats = sim.stats()
        await close_session()
        assert (await llm.achat("reopened")).content
    assert len({r.content for r in results}) == 50
    assert stats["requests_total"] == 50
    assert stats["peak_in_flight"] == 50  # no pool cap of our own


async def test_httpx_client_path(sim):
    async with httpx.AsyncClient() as client:
        llm = llm_for(sim, http_client=client)
        resp = await llm.achat("via httpx")
        assert "via httpx" in resp.content
        stream = await llm.achat("via httpx", stream=True)
        text = "".join([d.content async for d in stream])
        assert text == resp.content
    async with serve(stall_rate=1.0) as stalled, httpx.AsyncClient() as client:
        with pytest.raises(errors.LLMTimeoutError):
            await llm_for(stalled, http_client=client, timeout=0.2).achat("x")


def test_sync_call_runs_its_own_loop():
    async def start():
        cm = serve()
        sim = await cm.__aenter__()
        return cm, sim

    # The simulator runs on a background loop thread; LLM.call makes its own loop.
    import threading

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        cm, sim = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
        resp = llm_for(sim).chat("sync hello")
        assert "sync hello" in resp.content
        text = llm_for(sim).call("sync hello")
        assert text == resp.content
        asyncio.run_coroutine_threadsafe(cm.__aexit__(None, None, None), loop).result(10)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


async def test_sync_call_refuses_inside_a_running_loop(sim):
    with pytest.raises(errors.FastCrewError, match="acall"):
        llm_for(sim).call("x")
    with pytest.raises(errors.FastCrewError, match="achat"):
        llm_for(sim).chat("x")


def test_repr_and_pickle_hide_nothing_but_the_key():
    import pickle

    llm = LLM("gpt-4o-mini", api_key="sk-fake-abcdefgh-ijklmnop", temperature=0.1, seed=3)
    assert "sk-fake" not in repr(llm)
    clone = pickle.loads(pickle.dumps(llm))
    assert clone.has_api_key
    assert (clone.model, clone.temperature, clone.provider_kwargs) == (
        "gpt-4o-mini",
        0.1,
        {"seed": 3},
    )


def test_urls_with_queries_are_handled_safely():
    # (credentials in the URL are refused: tests/llm/test_output_integrity.py)
    llm = LLM("m", base_url="https://host.example/v1?api-version=2024&key=SECRET")
    assert llm._url == "https://host.example/v1/chat/completions?api-version=2024&key=SECRET"
    for text in (repr(llm), llm._budget_key):
        assert "SECRET" not in text


def test_timeout_none_means_no_timeout_and_non_positive_is_refused():
    assert LLM("m", base_url="http://127.0.0.1:9/v1", timeout=None).timeout is None
    with pytest.raises(errors.ConfigurationError, match="timeout"):
        LLM("m", base_url="http://127.0.0.1:9/v1", timeout=0)


def test_the_loop_session_is_closed_when_the_loop_ends():
    import subprocess
    import sys

    code = """
import asyncio
from fastcrew import LLM, RetryPolicy
from fastcrew.sim import serve

async def main():
    async with serve() as sim:
        llm = LLM("m", base_url=sim.base_url, retry=RetryPolicy(max_attempts=1))
        print((await llm.achat("bye")).content[:9])

asyncio.run(main())
"""
    out = subprocess.run(
        [sys.executable, "-X", "dev", "-c", code], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Simulated")
    assert "Unclosed" not in out.stderr
    assert "ResourceWarning" not in out.stderr
