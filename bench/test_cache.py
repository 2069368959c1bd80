"""The response cache's costs: a key, a hit, a miss, a write (at once and write-behind), and
hits from several threads — on a real SQLite file in WAL mode, warm page cache.

A typical request body (system + user message, ~2 KB) and answer (~1.5 KB). CPU is
``time.process_time`` (this process, every thread), best of 3 rounds. Target: a hit
≤ 0.1 ms CPU, cheap enough to do inline on the event loop.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from fastcrew._json import dumps
from fastcrew.cache import ResponseCache, request_key

URL = "https://api.openai.com/v1/chat/completions"
N = 10_000
ANSWER = dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "y" * 1200},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 500, "completion_tokens": 300, "total_tokens": 800},
    }
)  # fmt: skip


def body(i: int) -> dict:
    return {
        "model": "gpt-4o-mini",
        "temperature": 0.2,
        "max_tokens": 800,
        "messages": [
            {"role": "system", "content": "You are a careful analyst. " * 40},
            {"role": "user", "content": f"Summarise record {i}: " + "data " * 150},
        ],
    }


BODIES = [body(i) for i in range(N)]
KEYS = [request_key(URL, b) for b in BODIES]
MISSING = [request_key(URL, body(N + i)) for i in range(N)]


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory):
    """A file holding the N answers (written once, read warm)."""
    cache = ResponseCache(Path(tmp_path_factory.mktemp("cache")) / "bench.sqlite")
    for key in KEYS:
        cache.put_later(key, ANSWER)
    cache.flush()
    for key in KEYS:  # warm the page cache
        assert cache.get(key) is not None
    yield cache
    cache.close()


def _cpu_us(benchmark, work, n: int) -> float:
    """Best CPU µs per item of ``work()`` over 3 rounds."""
    samples: list[float] = []

    def once() -> None:
        cpu0 = time.process_time()
        work()
        samples.append(time.process_time() - cpu0)

    benchmark.pedantic(once, rounds=3, iterations=1)
    return min(samples) / n * 1e6


def _record(benchmark, report, name: str, us: float, n: int, **extra: object) -> None:
    benchmark.extra_info.update(us_per_op=round(us, 2), n=n, **extra)
    report.summary[name] = f"{us:.2f} us CPU"
    report.add(cell=name, n=n, us_cpu_per_op=round(us, 2), **extra)


def test_request_key(benchmark, report):
    us = _cpu_us(benchmark, lambda: [request_key(URL, b) for b in BODIES], N)
    _record(benchmark, report, "request_key (2 KB body)", us, N)


def test_get_hit(benchmark, report, filled):
    def hits() -> None:
        for key in KEYS:
            assert filled.get(key) is not None

    us = _cpu_us(benchmark, hits, N)
    _record(benchmark, report, "get hit", us, N)
    report.summary["target"] = "hit <= 100 us CPU"
    assert us <= 100


def test_get_miss(benchmark, report, filled):
    def misses() -> None:
        for key in MISSING:
            assert filled.get(key) is None

    _record(benchmark, report, "get miss", _cpu_us(benchmark, misses, N), N)


def test_put_now(benchmark, report, tmp_path):
    """One transaction per put, on the caller's thread (a fresh file per round)."""
    files = iter(range(10))

    def puts() -> None:
        with ResponseCache(tmp_path / f"put{next(files)}.sqlite") as cache:
            for key in KEYS[:2000]:
                cache.put(key, ANSWER)

    _record(benchmark, report, "put (one transaction each)", _cpu_us(benchmark, puts, 2000),
            2000)  # fmt: skip


def test_put_later(benchmark, report, tmp_path):
    """The caller's cost of a write-behind put, and the writer thread's throughput."""
    files = iter(range(10))
    caller: list[float] = []
    walls: list[float] = []

    def puts() -> None:
        with ResponseCache(tmp_path / f"later{next(files)}.sqlite") as cache:
            wall0, cpu0 = time.perf_counter(), time.thread_time()
            for key in KEYS:
                cache.put_later(key, ANSWER)
            caller.append(time.thread_time() - cpu0)
            cache.flush()
            walls.append(time.perf_counter() - wall0)

    total_us = _cpu_us(benchmark, puts, N)
    caller_us = min(caller) / N * 1e6
    per_s = round(N / min(walls))
    report.summary["put_later (caller's thread)"] = f"{caller_us:.2f} us CPU"
    _record(benchmark, report, "put_later (caller + writer thread)", total_us, N,
            caller_us=round(caller_us, 2), writes_per_s=per_s)  # fmt: skip


@pytest.mark.parametrize("threads", [1, 4])
def test_get_hit_threads(benchmark, report, filled, threads):
    """Hits from several threads at once (one connection each): the wall time per hit."""
    walls: list[float] = []

    def hits() -> None:
        def read() -> None:
            for key in KEYS:
                assert filled.get(key) is not None

        workers = [threading.Thread(target=read) for _ in range(threads)]
        wall0 = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        walls.append(time.perf_counter() - wall0)

    us = _cpu_us(benchmark, hits, N * threads)
    wall_us = min(walls) / (N * threads) * 1e6
    report.summary[f"get hit, {threads} threads"] = f"{wall_us:.2f} us wall per hit"
    report.add(cell=f"get hit, {threads} threads", n=N * threads, us_cpu_per_op=round(us, 2),
               us_wall_per_op=round(wall_us, 2))  # fmt: skip
