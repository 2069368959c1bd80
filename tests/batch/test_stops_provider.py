"""A provider that cannot serve the run stops it early, the rows left unstarted (issue 20 §1).

Before: a port nothing listens on took 84 s to turn 400 rows into 400 error rows; a refused
key was sent 2,000 times. Now: exit 68 / 77 within a second or two, no error row, and the
same command with the right endpoint / key completes every row.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fastcrew.sim import SpawnedSim, spawn

from .helpers import CREWS, assert_exactly_once_in_order, batch_cmd, read_rows, write_inputs

N = 400
WORKERS = 2  # batch_cmd's
CONCURRENCY = 20


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_inputs(tmp_path_factory.mktemp("inputs") / "in.jsonl", N)


@pytest.fixture(scope="module")
def sim() -> Iterator[SpawnedSim]:
    with spawn(seed=3, api_key="the-right-key") as server:
        yield server


def dead_url() -> str:
    """A loopback URL on a port nothing listens on (bound, never listened, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def summary(out: Path) -> dict[str, Any]:
    return json.loads(Path(f"{out}.summary.json").read_text())


def run(cmd: list[str], **kw: Any) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)
    return done, time.monotonic() - started


def assert_nothing_ran(out: Path, status: str, code: int) -> None:
    s = summary(out)
    assert (s["status"], s["exit_code"], s["resumable"]) == (status, code, True)
    assert s["rows"]["error"] == 0  # unstarted, not error rows
    assert not out.exists() or out.read_bytes() == b""


def resume(inputs: Path, out: Path, sim: SpawnedSim) -> None:
    """The same command against a working endpoint with the right key: every row, once."""
    before = sim.stats()["by_status"].get("200", 0)
    cmd = batch_cmd(inputs, out, sim.base_url, "--api-key", "the-right-key")
    done, _ = run(cmd)
    assert done.returncode == 0, done.stderr
    assert_exactly_once_in_order(read_rows(out), N)
    assert sim.stats()["by_status"]["200"] - before == N


def test_a_port_nothing_listens_on_stops_at_once_with_exit_68(
    inputs: Path, sim: SpawnedSim, tmp_path: Path
):
    out = tmp_path / "out.jsonl"
    url = dead_url()
    done, elapsed = run(batch_cmd(inputs, out, url, "--api-key", "the-right-key"))
    assert done.returncode == 68, done.stderr
    assert f"cannot connect to {url}: Connection refused; stopped before any row ran" in (
        done.stderr
    )
    assert "Traceback" not in done.stderr
    assert elapsed < 5.0  # was 84 s
    assert_nothing_ran(out, "provider_unreachable", 68)
    resume(inputs, out, sim)


def test_a_refused_key_stops_at_once_with_exit_77_after_few_requests(
    inputs: Path, sim: SpawnedSim, tmp_path: Path
):
    out = tmp_path / "out.jsonl"
    sim.reset_stats()
    cmd = batch_cmd(inputs, out, sim.base_url, "--api-key", "a-wrong-key")
    done, elapsed = run([*cmd, "--concurrency", str(CONCURRENCY)])
    assert done.returncode == 77, done.stderr
    assert "the provider refused the API key (401)" in done.stderr
    assert "a-wrong-key" not in done.stderr
    assert elapsed < 8.0
    refused = sim.stats()["by_status"]["401"]
    assert 1 <= refused <= WORKERS * CONCURRENCY  # was 2,000: every row, with retries
    assert sim.stats()["requests_total"] == refused
    assert_nothing_ran(out, "auth_failed", 77)
    resume(inputs, out, sim)


CREW_AT = """
from fastcrew import LLM, Agent, Crew, Task
from fastcrew.limits import RetryPolicy


def make_crew():
    retry = RetryPolicy(max_attempts=2, base_delay=0.01)
    llm = LLM("sim-model", base_url={url!r}, api_key="k", retry=retry)
    agent = Agent(role="Echo", goal="Answer about {{topic}}", backstory="A test agent.", llm=llm)
    task = Task(description="Tell me about {{topic}}", expected_output="One line.", agent=agent)
    return Crew(agents=[agent], tasks=[task])
"""


def test_connection_errors_before_any_success_stop_the_run_from_the_workers(
    inputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The crew's own LLM names a dead endpoint (no --base-url to probe): the first row
    whose call fails, with nothing succeeded yet, stops the run (exit 68, no error row)."""
    crew = tmp_path / "dead_crew.py"
    crew.write_text(CREW_AT.format(url=dead_url()))
    out = tmp_path / "out.jsonl"
    cmd = batch_cmd(inputs, out, "unused", spec=f"{crew}:make_crew")
    cmd.remove("--base-url")
    cmd.remove("unused")
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_BASE_URL", "OPENAI_API_BASE")}
    done, elapsed = run(cmd, env=env)
    assert done.returncode == 68, done.stderr
    assert "the provider cannot be reached" in done.stderr
    assert "no call of the run succeeded: stopped" in done.stderr
    assert elapsed < 8.0
    assert_nothing_ran(out, "provider_unreachable", 68)


def test_after_a_success_a_connection_error_is_the_rows_own(tmp_path: Path):
    """Resets after the first success are transient: error rows, the run completes (3)."""
    n = 60
    inputs = write_inputs(tmp_path / "in.jsonl", n)
    out = tmp_path / "out.jsonl"
    with spawn(seed=11, reset_rate=0.2) as flaky:
        cmd = batch_cmd(inputs, out, flaky.base_url, spec=f"{CREWS}:no_retry_crew", option="--crew")
        cmd[cmd.index("--workers") + 1] = "1"
        done, _ = run([*cmd, "--concurrency", "1"])
        resets = flaky.stats()["faults"]["reset"]
    rows = read_rows(out)
    first_ok = next(r["index"] for r in rows if r["status"] == "ok")
    assert first_ok == 0, "seed 11's first request must succeed for this scenario"
    assert done.returncode == 3, done.stderr
    errors = [r for r in rows if r["status"] == "error"]
    assert 0 < len(errors) == resets
    assert {r["error"]["type"] for r in errors} == {"LLMConnectionError"}
    assert len(rows) == n
