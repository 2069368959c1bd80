"""401 / 400 / 429 / faults over real HTTP, and a shutdown that never hangs."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterator

import aiohttp
import pytest

from fastcrew._json import JSONDecodeError, loads
from fastcrew.sim import Simulator, serve

from .helpers import RATE_LIMIT_HEADERS, body, post, sse_events, wait_until

KEY = "sk-right-key-0123456789"


@pytest.fixture(autouse=True)
def no_server_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Faults and shutdowns are deliberate: aiohttp must not log errors about them."""
    with caplog.at_level(logging.WARNING, logger="aiohttp"):
        yield
    assert [r.getMessage() for r in caplog.records if r.name.startswith("aiohttp")] == []


def error_of(raw: bytes) -> dict:
    error = loads(raw)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


async def test_api_key_is_required_and_never_echoed(session: aiohttp.ClientSession) -> None:
    wrong = "sk-wrong-key-9876543210"
    async with serve(api_key=KEY) as sim:
        for headers in (None, {"Authorization": f"Bearer {wrong}"}, {"Authorization": KEY}):
            status, _, raw = await post(session, sim, body(), headers)
            assert status == 401
            assert error_of(raw) == {
                "message": "Incorrect API key provided.",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
            assert wrong.encode() not in raw
            assert KEY.encode() not in raw
        status, _, _ = await post(session, sim, body(), {"Authorization": f"Bearer {KEY}"})
        assert status == 200
        assert KEY not in repr(sim)
        assert KEY not in str(sim.stats())


async def test_auth_is_checked_before_the_body(session: aiohttp.ClientSession) -> None:
    async with serve(api_key=KEY) as sim:
        status, _, _ = await post(session, sim, b"not json")
        assert status == 401


@pytest.mark.parametrize(
    ("payload", "param", "words"),
    [
        (b"{not json", None, "not valid JSON"),
        ({"model": "m"}, "messages", "'messages' must be a non-empty list"),
        (
            {"messages": [{"content": "no role"}]},
            "messages[0].role",
            "'messages[0].role' must be one of",
        ),
        (body(max_tokens=0), "max_tokens", "'max_tokens' must be a positive integer"),
        (body(temperature=3), "temperature", "between 0 and 2"),
        (body(response_format={"type": "yaml"}), "response_format.type", "'response_format.type'"),
        (body(stream="yes"), "stream", "'stream' must be a boolean"),
    ],
)
async def test_bad_bodies_are_400_with_a_clear_message(
    session: aiohttp.ClientSession,
    sim: Simulator,
    payload: dict | bytes,
    param: str | None,
    words: str,
) -> None:
    status, _, raw = await post(session, sim, payload)
    assert status == 400
    error = error_of(raw)
    assert words in error["message"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param)
    assert sim.stats()["by_status"] == {"400": 1}


async def test_quota_after_n_admitted_requests(session: aiohttp.ClientSession) -> None:
    async with serve(quota_after=2) as sim:
        assert [(await post(session, sim, body()))[0] for _ in range(2)] == [200, 200]
        for _ in range(2):
            status, headers, raw = await post(session, sim, body())
            assert status == 429
            assert "retry-after" not in headers
            assert error_of(raw) == {
                "message": "You exceeded your current quota, please check your plan and "
                "billing details.",
                "type": "insufficient_quota",
                "param": None,
                "code": "insufficient_quota",
            }
        assert sim.stats()["quota_rejected"] == 2


async def test_rpm_refuses_the_third_request_with_retry_after(
    session: aiohttp.ClientSession,
) -> None:
    async with serve(rpm=2) as sim:
        first = await post(session, sim, body())
        second = await post(session, sim, body())
        status, headers, raw = await post(session, sim, body())
        stats = sim.stats()
    assert (first[0], second[0], status) == (200, 200, 429)
    assert first[1]["x-ratelimit-remaining-requests"] == "1"
    assert second[1]["x-ratelimit-remaining-requests"] == "0"
    assert first[1]["x-ratelimit-limit-requests"] == "2"
    error = error_of(raw)
    assert (error["type"], error["code"], error["param"]) == (
        "requests",
        "rate_limit_exceeded",
        None,
    )
    assert error["message"].startswith(
        "Rate limit reached for sim-model on requests per min (RPM): Limit 2"
    )
    assert "Please try again in " in error["message"]
    retry_after = int(headers["retry-after"])
    retry_after_ms = int(headers["retry-after-ms"])
    assert 0 < retry_after_ms <= 30_000  # one request refills in 30 s at 2 RPM
    assert retry_after == -(-retry_after_ms // 1000)
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert stats["rate_limited"] == {"requests": 1, "tokens": 0}
    assert stats["by_status"] == {"200": 2, "429": 1}
    assert stats["admitted"] == 2


async def test_tpm_charges_prompt_plus_max_tokens(session: aiohttp.ClientSession) -> None:
    async with serve(tpm=100) as sim:
        status, headers, _ = await post(session, sim, body("hi", max_tokens=60))
        assert status == 200
        # prompt 3 + 4 + 1 = 8, charge 8 + 60
        assert headers["x-ratelimit-remaining-tokens"] == str(100 - 68)
        status, headers, raw = await post(session, sim, body("hi", max_tokens=60))
        assert status == 429
        assert error_of(raw)["type"] == "tokens"
        assert "retry-after" in headers
        assert sim.stats()["rate_limited"] == {"requests": 0, "tokens": 1}


async def test_request_larger_than_the_token_bucket(session: aiohttp.ClientSession) -> None:
    async with serve(tpm=50) as sim:
        status, headers, raw = await post(session, sim, body("x", max_tokens=100))
    assert status == 429
    error = error_of(raw)
    assert error["type"] == "tokens"
    assert error["message"].startswith("Request too large for sim-model on tokens per min (TPM)")
    assert "retry-after" not in headers


async def test_rate_limit_headers_on_every_response(session: aiohttp.ClientSession) -> None:
    async with serve(rpm=3, tpm=10_000, api_key=KEY, fail_rate=0.0) as sim:
        auth = {"Authorization": f"Bearer {KEY}"}
        responses = [
            await post(session, sim, body(), auth),  # 200
            await post(session, sim, b"{", auth),  # 400
            await post(session, sim, body()),  # 401
            await post(session, sim, body(stream=True), auth),  # 200 stream
            await post(session, sim, body(), auth),  # 200
            await post(session, sim, body(), auth),  # 429
        ]
    assert [status for status, _, _ in responses] == [200, 400, 401, 200, 200, 429]
    for _, headers, _ in responses:
        assert all(h in headers for h in RATE_LIMIT_HEADERS)
    assert re.fullmatch(r"(19\.\d+|20)s", responses[0][1]["x-ratelimit-reset-requests"])


async def test_rate_limit_headers_on_500() -> None:
    async with serve(rpm=10, fail_rate=1.0) as sim, aiohttp.ClientSession() as session:
        status, headers, raw = await post(session, sim, body())
    assert status == 500
    assert headers["x-ratelimit-remaining-requests"] == "9"
    assert "x-ratelimit-limit-tokens" not in headers  # only configured limits
    error = error_of(raw)
    assert (error["type"], error["code"]) == ("server_error", None)


async def test_reset_fault_drops_the_connection() -> None:
    async with serve(reset_rate=1.0) as sim, aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await post(session, sim, body())
        assert sim.stats()["faults"]["reset"] == 1
        assert sim.stats()["by_status"] == {}


async def test_malformed_fault_sends_invalid_json() -> None:
    async with serve(malformed_rate=1.0) as sim, aiohttp.ClientSession() as session:
        status, _, raw = await post(session, sim, body())
        assert status == 200
        with pytest.raises(JSONDecodeError):
            loads(raw)
        status, _, raw = await post(session, sim, body(stream=True))
        assert status == 200
        with pytest.raises(JSONDecodeError):
            sse_events(raw)
        assert raw.endswith(b"data: [DONE]\n\n")
        assert sim.stats()["faults"]["malformed"] == 2


async def test_stall_times_out_the_client_and_shutdown_does_not_hang() -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.3)) as session:
        cm = serve(stall_rate=1.0)
        sim = await cm.__aenter__()
        with pytest.raises(asyncio.TimeoutError):
            await post(session, sim, body())
        # a second stalled request still connected when the server stops
        pending = asyncio.create_task(post(session, sim, body()))
        await wait_until(lambda: sim.stats()["in_flight"] == 2)
        started = time.perf_counter()
        await cm.__aexit__(None, None, None)
        assert time.perf_counter() - started < 2.0
        with pytest.raises((aiohttp.ClientConnectionError, asyncio.TimeoutError)):
            await pending
    assert sim.stats()["faults"]["stall"] == 2
    assert sim.stats()["in_flight"] == 0


async def test_shutdown_cancels_slow_requests_and_leaks_no_task() -> None:
    before = asyncio.all_tasks()
    async with aiohttp.ClientSession() as session:
        async with serve(latency_ms=30_000) as sim:
            slow = asyncio.create_task(post(session, sim, body()))
            await wait_until(lambda: sim.stats()["in_flight"] == 1)
        with pytest.raises(aiohttp.ClientConnectionError):
            await slow
    assert sim.stats()["in_flight"] == 0
    assert asyncio.all_tasks() <= before


async def test_fault_sequence_is_reproducible_with_a_seed() -> None:
    async def statuses(seed: int) -> list[int]:
        async with serve(seed=seed, fail_rate=0.5) as sim, aiohttp.ClientSession() as session:
            return [(await post(session, sim, body(f"r{i}")))[0] for i in range(30)]

    first = await statuses(11)
    assert first == await statuses(11)
    assert set(first) == {200, 500}
    assert first != await statuses(12)
