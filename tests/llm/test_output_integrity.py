"""Issue 20, output integrity: the provider's own answer and errors kept, every attempt
counted, clean stop signals (wrong key, unreachable endpoint), real HTTP to the simulator."""

import asyncio
import json
import pickle
import socket

import httpx
import pytest

from fastcrew import LLM, errors
from fastcrew.limits import RateLimit, RetryPolicy
from fastcrew.llm import metered
from fastcrew.process_runtime import get_runtime
from fastcrew.sim import serve

UNLIMITED = RateLimit(rpm=None, tpm=None)
THREE_FAST = RetryPolicy(max_attempts=3, base_delay=0.0)
RIGHT_KEY = "sk-right-key-000000000000"


def llm_at(base_url: str, **kwargs) -> LLM:
    kwargs.setdefault("retry", THREE_FAST)
    kwargs.setdefault("rate_limit", UNLIMITED)
    return LLM("openai/sim-model", base_url=base_url, **kwargs)


def dead_url() -> str:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


# -- 1. the provider's answer, kept -------------------------------------------------------


async def test_response_keeps_the_providers_body_bytes(sim):
    llm = llm_at(sim.base_url)
    resp = await llm.achat("keep my body")
    assert isinstance(resp.raw, bytes)
    data = json.loads(resp.raw)
    assert data["id"] == resp.id
    assert data["choices"][0]["message"]["content"] == resp.content
    assert data["usage"]["total_tokens"] == resp.usage.total_tokens
    assert "raw" not in repr(resp)
    assert resp.request_id.startswith("req_")  # the simulator's x-request-id
    async with httpx.AsyncClient() as client:
        via_httpx = await llm_at(sim.base_url, http_client=client).achat("keep my body")
    assert json.loads(via_httpx.raw)["choices"] == data["choices"]
    stream = await llm.achat("keep my body", stream=True)
    async for _ in stream:
        pass
    assert stream.response.raw is None


async def test_provider_error_keeps_its_error_object_and_body():
    async with serve(fail_rate=1.0) as sim:
        with pytest.raises(errors.ServerError) as info:
            await llm_at(sim.base_url, retry=RetryPolicy(max_attempts=1)).achat("x")
    err = info.value
    assert err.status == 500
    assert err.error is not None
    assert err.error["type"] == "server_error"
    assert set(err.error) >= {"message", "type", "code", "param"}
    assert json.loads(err.body) == {"error": err.error}
    assert "LLM provider answered 500" in str(err)
    clone = pickle.loads(pickle.dumps(err))
    assert (clone.status, clone.error, clone.body, clone.attempts) == (500, err.error, err.body, 1)


# -- 3. every attempt counted --------------------------------------------------------------


async def test_refused_connections_count_every_attempt():
    llm = llm_at(dead_url(), timeout=2)
    before = get_runtime().usage.retries
    with metered() as meter, pytest.raises(errors.LLMConnectionError) as info:
        await llm.achat("anyone there?")
    assert info.value.attempts == 3
    assert llm.limiter().stats.retries == info.value.attempts - 1
    assert meter.retries == 2
    assert get_runtime().usage.retries - before == 2


async def test_timeouts_count_every_attempt():
    connections = 0

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.read()  # until the client gives up and closes
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        llm = llm_at(f"http://127.0.0.1:{port}/v1", timeout=0.2)
        with metered() as meter, pytest.raises(errors.LLMTimeoutError) as info:
            await llm.achat("hello?")
    assert connections == info.value.attempts == 3
    assert llm.limiter().stats.retries == 2
    assert meter.retries == 2


async def test_server_errors_count_every_attempt_as_the_provider_saw_them():
    async with serve(fail_rate=1.0) as sim:
        llm = llm_at(sim.base_url)
        with metered() as meter, pytest.raises(errors.ServerError) as info:
            await llm.achat("x")
        seen = sim.stats()["requests_total"]
    assert seen == info.value.attempts == 3
    assert llm.limiter().stats.retries == seen - 1
    assert meter.retries == seen - 1


async def test_a_call_refused_without_retries_made_one_attempt():
    async with serve(rpm=1) as sim:
        llm = llm_at(sim.base_url, retry=RetryPolicy(max_attempts=1))
        await llm.achat("spend the minute")
        with pytest.raises(errors.RateLimitError) as info:
            await llm.achat("refused")
    assert info.value.attempts == 1
    assert llm.limiter().stats.retries == 0


# -- 5. stop-early signals -----------------------------------------------------------------


async def test_wrong_key_is_a_401_authentication_error_at_once():
    async with serve(api_key=RIGHT_KEY) as sim:
        llm = llm_at(sim.base_url, api_key="sk-wrong-key-111111111111")
        with pytest.raises(errors.AuthenticationError) as info:
            await llm.achat("hi")
        seen = sim.stats()["requests_total"]
    err = info.value
    assert (err.status, err.attempts, seen) == (401, 1, 1)  # never retried
    assert not err.retryable
    assert not isinstance(err, errors.LLMConnectionError)
    assert err.error is not None
    assert err.error["code"] == "invalid_api_key"
    assert json.loads(err.body)["error"] == err.error
    assert err.request_id.startswith("req_")  # the simulator's x-request-id


async def test_unreachable_endpoint_is_a_connection_error_after_the_retries():
    with pytest.raises(errors.LLMConnectionError) as info:
        await llm_at(dead_url(), timeout=2).achat("x")
    async with httpx.AsyncClient() as client:
        with pytest.raises(errors.LLMConnectionError) as via_httpx:
            await llm_at(dead_url(), timeout=2, http_client=client).achat("x")
    assert via_httpx.value.attempts == THREE_FAST.max_attempts
    err = info.value
    assert isinstance(err, ConnectionError)
    assert not isinstance(err, errors.AuthenticationError)
    assert err.attempts == THREE_FAST.max_attempts
    assert err.status is None
    assert err.error is None
    assert err.body is None


# -- 2. base URL with credentials ------------------------------------------------------------


def test_base_url_with_credentials_is_refused_at_construction():
    with pytest.raises(errors.LLMConfigurationError) as info:
        LLM("m", base_url="http://user:hunter2pass@127.0.0.1:9/v1")
    message = str(info.value)
    assert "hunter2pass" not in message
    assert "api_key=" in message
    assert "user:password@" in message
    with pytest.raises(errors.LLMConfigurationError):
        LLM("m", api_base="https://only-a-user@host.example/v1", api_key="k")


@pytest.mark.parametrize("name", ["OPENAI_BASE_URL", "OPENAI_API_BASE"])
def test_env_base_url_with_credentials_is_refused_at_construction(monkeypatch, name):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    monkeypatch.setenv(name, "http://user:hunter2pass@127.0.0.1:9/v1")
    with pytest.raises(errors.LLMConfigurationError) as info:
        LLM("gpt-4o-mini", api_key="k")
    assert name in str(info.value)
    assert "hunter2pass" not in str(info.value)
