"""One Runtime per process: sync calls share its home loop, HTTP session and budgets."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastcrew import LLM, Agent, Crew, RateLimit, RetryPolicy, RunningLoopError, Task
from fastcrew.process_runtime import Runtime, get_runtime
from fastcrew.sim import SpawnedSim, spawn

FLOWS = str(Path(__file__).parents[1] / "batch" / "flows.py")


@pytest.fixture(scope="module")
def sim() -> Iterator[SpawnedSim]:
    with spawn() as server:
        yield server


def crew_on(llm: LLM) -> Crew:
    agent = Agent(role="Writer", goal="Write", backstory="Terse.", llm=llm)
    task = Task(description="About {topic}", expected_output="One line.", agent=agent)
    return Crew(agents=[agent], tasks=[task])


def rss_mib() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 2**20


def test_sync_kickoffs_reuse_one_loop_and_keep_memory_flat(sim: SpawnedSim):
    llm = LLM("m", base_url=sim.base_url, rate_limit=RateLimit(rpm=None, tpm=None))
    crew = crew_on(llm)
    for i in range(300):  # warm up: session, limiter, pydantic caches
        crew.kickoff({"topic": f"w{i}"})
    before = rss_mib()
    runtime = get_runtime()
    for i in range(5000):
        assert crew.kickoff({"topic": f"t{i}"}).raw
    grown = rss_mib() - before
    # Before the runtime, each kickoff made a loop with its own session and limiters that
    # were never freed: +257 MiB per 1,000 calls.
    assert grown < 16, f"RSS grew {grown:.1f} MiB over 5,000 kickoffs"
    assert runtime.loop_count == 1  # the home loop only
    assert runtime.home_loop is not None


async def test_kickoff_async_and_akickoff_share_one_budget(sim: SpawnedSim):
    # 600 RPM = 10/s with a 1 s burst: 20 calls need at least one second, however they are
    # made. Before, every kickoff_async got a fresh loop with its own full budget.
    llm = LLM(
        "m",
        base_url=sim.base_url,
        rate_limit=RateLimit(rpm=600, tpm=None),
        retry=RetryPolicy(max_attempts=1),
        api_key="sk-test-budget-shared",  # a budget of its own: no other test's calls
    )
    crew = crew_on(llm)
    sim.reset_stats()
    started = time.monotonic()
    outs = await asyncio.gather(
        *(crew.kickoff_async({"topic": f"t{i}"}) for i in range(10)),
        *(crew.akickoff({"topic": f"a{i}"}) for i in range(10)),
    )
    elapsed = time.monotonic() - started
    assert len(outs) == 20
    assert sim.stats()["requests_total"] == 20
    assert sim.stats()["by_status"].get("429", 0) == 0
    assert elapsed >= 0.9, f"20 calls at 10/s took {elapsed:.2f} s: the budget was not shared"


def test_a_loop_that_ends_releases_its_state(sim: SpawnedSim):
    runtime = get_runtime()
    llm = LLM("m", base_url=sim.base_url, rate_limit=RateLimit(rpm=None, tpm=None))
    before = runtime.loop_count
    for _ in range(20):
        asyncio.run(llm.achat("hi"))
    assert runtime.loop_count == before


async def test_sync_apis_inside_a_running_loop_raise_one_error_class(sim: SpawnedSim):
    llm = LLM("m", base_url=sim.base_url)
    crew = crew_on(llm)
    with pytest.raises(RunningLoopError, match=r"await LLM\.acall"):
        llm.call("hi")
    with pytest.raises(RunningLoopError, match=r"await Crew\.akickoff"):
        crew.kickoff({"topic": "x"})
    # Agent.kickoff is the exception, as in CrewAI: inside a loop it returns its coroutine
    work = crew.agents[0].kickoff("hi")
    assert asyncio.iscoroutine(work)
    work.close()


async def test_run_in_thread_is_bounded_by_max_threads_and_keeps_context():
    import contextvars

    runtime = Runtime(max_threads=3)
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    var.set("caller")
    lock = threading.Lock()
    live = peak = 0
    release = threading.Event()

    def work() -> str:
        nonlocal live, peak
        with lock:
            live += 1
            peak = max(peak, live)
        release.wait(5)
        with lock:
            live -= 1
        return var.get()

    tasks = [asyncio.ensure_future(runtime.run_in_thread(work)) for _ in range(6)]
    while True:  # wait until the pool is full (a progress condition, not a timing guess)
        with lock:
            if live == 3:
                break
        await asyncio.sleep(0.01)
    release.set()
    assert await asyncio.gather(*tasks) == ["caller"] * 6
    assert peak == 3
    runtime.close()


def test_sync_flow_methods_reach_the_batch_concurrency(tmp_path: Path):
    # Plain-def flow methods calling crew.kickoff() used to run in the default thread pool:
    # 6 in flight at --concurrency 100. The worker's runtime sizes its pool to --concurrency.
    n = 40
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("".join(f'{{"id": "r{i}", "topic": "t{i}"}}\n' for i in range(n)))
    out = tmp_path / "out.jsonl"
    with spawn(latency_ms=300) as slow:
        cmd = [
            sys.executable,
            "-m",
            "fastcrew",
            "batch",
            str(inputs),
            "--flow",
            f"{FLOWS}:SyncRowFlow",
            "-o",
            str(out),
            "--workers",
            "1",
            "--concurrency",
            str(n),
            "--base-url",
            slow.base_url,
            "--no-progress",
        ]
        env = {"PATH": "/usr/bin:/bin", "OPENAI_BASE_URL": slow.base_url}
        done = subprocess.run(cmd, capture_output=True, timeout=120, env=env)
        assert done.returncode == 0, done.stderr.decode()
        stats = slow.stats()
    assert stats["requests_total"] == 2 * n
    # 40 threads for 40 rows, each running one of its two sync start methods at a time or both
    assert stats["peak_in_flight"] >= n * 0.9, stats["peak_in_flight"]


def test_a_redirect_sends_every_llm_built_under_it_elsewhere_with_all_its_settings(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-for-the-simulator")
    runtime = get_runtime()
    with runtime.redirecting("http://127.0.0.1:9/v1"):
        llm = LLM(
            "gpt-4o-mini",
            base_url="https://api.openai.com/v1",
            max_completion_tokens=77,
            top_p=0.5,
            supports_function_calling=False,
        )
    assert llm.base_url == "http://127.0.0.1:9/v1"
    assert not llm.has_api_key  # the provider's key is not sent to the redirect target
    assert (llm.max_completion_tokens, llm.top_p) == (77, 0.5)
    assert not llm.supports_function_calling()
    assert runtime.redirect is None
    assert LLM("gpt-4o-mini").base_url != "http://127.0.0.1:9/v1"
