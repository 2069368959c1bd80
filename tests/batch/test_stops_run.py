"""Clear, bounded stops and honest summaries of a real ``fastcrew batch`` (issue 20 §2-4, 6, 7).

- the rate-limit line says what the run learned from the provider's headers, or nothing;
- one SIGTERM while every request hangs exits 75 within the SIGTERM drain bound (was 60 s);
- ``--simulate`` and a kill -9 of the supervisor: the simulator and the workers die too;
- the summary's retries are every extra attempt the provider saw;
- the workers' environment holds no key fastcrew itself read.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from fastcrew.batch.supervisor.drain import TERM_DRAIN_S
from fastcrew.sim import spawn

from .helpers import (
    assert_exactly_once_in_order,
    batch_cmd,
    journal_rows,
    read_rows,
    running,
    simulator_pids,
    wait_for,
    worker_pids,
    write_inputs,
)


def summary(out: Path) -> dict[str, Any]:
    return json.loads(Path(f"{out}.summary.json").read_text())


def simulate_cmd(inputs: Path, out: Path, *sim: str) -> list[str]:
    """``batch_cmd`` with ``--simulate`` (and ``--sim`` options) instead of a base URL."""
    cmd = batch_cmd(inputs, out, "unused")
    cmd.remove("--base-url")
    cmd.remove("unused")
    return [*cmd, "--simulate", *(arg for option in sim for arg in ("--sim", option))]


def test_the_rate_limit_line_shows_what_the_headers_said_or_nothing(tmp_path: Path):
    inputs = write_inputs(tmp_path / "in.jsonl", 40)
    with spawn(seed=2, rpm=60_000, tpm=9_000_000) as limited:
        out = tmp_path / "limited.jsonl"
        done = subprocess.run(batch_cmd(inputs, out, limited.base_url), capture_output=True)
    err = done.stderr.decode()
    assert done.returncode == 0, err
    limit = summary(out)["rate_limit"]
    assert (limit["rpm"], limit["tpm"]) == (60_000, 9_000_000)  # learned: no --rpm/--tpm
    line = next(x for x in err.splitlines() if "rate limit used" in x)
    assert " of 60,000 rpm" in line
    assert " of 9,000,000 tpm" in line
    assert "-" not in line.split(":", 1)[1]

    with spawn(seed=2) as unlimited:
        out = tmp_path / "unlimited.jsonl"
        done = subprocess.run(batch_cmd(inputs, out, unlimited.base_url), capture_output=True)
    err = done.stderr.decode()
    assert done.returncode == 0, err
    assert summary(out)["rate_limit"]["rpm"] is None
    assert "rate limit" not in err  # was "requests - of - rpm, tokens - of - tpm"


def test_one_sigterm_while_every_request_hangs_exits_75_within_the_bound(tmp_path: Path):
    n = 40
    inputs = write_inputs(tmp_path / "in.jsonl", n)
    out = tmp_path / "out.jsonl"
    with spawn(seed=4, latency_ms=3_600_000) as hanging:
        process = subprocess.Popen(
            batch_cmd(inputs, out, hanging.base_url, "--concurrency", "20"),
            stderr=subprocess.PIPE,
        )
        wait_for(lambda: hanging.stats()["in_flight"] >= 20, what="rows waiting on HTTP")
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
        took = time.monotonic() - sent
    assert process.returncode == 75, err.decode()
    assert f"SIGTERM: finishing the rows in flight (at most {TERM_DRAIN_S:g} s)" in err.decode()
    assert took < TERM_DRAIN_S + 3.0  # was 60 s
    assert summary(out)["status"] == "interrupted"
    with spawn(seed=4) as working:
        again = subprocess.run(batch_cmd(inputs, out, working.base_url), capture_output=True)
    assert again.returncode == 0, again.stderr.decode()
    assert_exactly_once_in_order(read_rows(out), n)


def test_kill_9_of_a_simulate_supervisor_takes_the_simulator_and_workers_with_it(
    tmp_path: Path,
):
    inputs = write_inputs(tmp_path / "in.jsonl", 50)
    out = tmp_path / "out.jsonl"
    process = subprocess.Popen(
        simulate_cmd(inputs, out, "latency_ms=3600000"), stderr=subprocess.DEVNULL
    )
    try:
        wait_for(
            lambda: simulator_pids(process.pid) and len(worker_pids(process.pid)) == 2,
            what="the simulator and both workers",
        )
        wait_for(lambda: Path(f"{out}.journal").exists(), what="the run to start")
        children = simulator_pids(process.pid) + worker_pids(process.pid)
        process.kill()
        process.wait()
        # was: the simulator kept running forever (5 of 5 tries)
        wait_for(lambda: not any(running(p) for p in children), 10.0, "every child to exit")
    finally:
        process.kill()
    assert journal_rows(out) == 0


def test_the_summary_counts_every_retry_the_provider_saw(tmp_path: Path):
    """500s on 40 % of attempts, 3 attempts per call: every attempt after a call's first is
    a retry, whether the call succeeded in the end or not (an error row)."""
    n = 120
    inputs = write_inputs(tmp_path / "in.jsonl", n)
    out = tmp_path / "out.jsonl"
    crew = tmp_path / "fast_retry_crew.py"
    crew.write_text(
        "from fastcrew import LLM, Agent, Crew, Task\n"
        "from fastcrew.limits import RetryPolicy\n\n"
        "def make_crew():\n"
        "    llm = LLM('sim-model', retry=RetryPolicy(max_attempts=3, base_delay=0.01))\n"
        "    agent = Agent(role='Echo', goal='About {topic}', backstory='A test.', llm=llm)\n"
        "    task = Task(description='Tell me about {topic}', expected_output='One line.',"
        " agent=agent)\n"
        "    return Crew(agents=[agent], tasks=[task])\n"
    )
    with spawn(seed=6, fail_rate=0.4) as failing:
        cmd = batch_cmd(inputs, out, failing.base_url, spec=f"{crew}:make_crew")
        done = subprocess.run(cmd, capture_output=True)
        stats = failing.stats()
    err = done.stderr.decode()
    s = summary(out)
    assert s["rows"]["error"] > 0  # some calls failed all 3 attempts
    assert done.returncode == 3, err
    extra_attempts = stats["requests_total"] - n  # one call per row
    assert extra_attempts > 0
    assert s["this_run"]["retries"] == extra_attempts
    assert f"{extra_attempts:,} retries" in err


def test_no_key_fastcrew_read_is_in_the_workers_environment(tmp_path: Path):
    inputs = write_inputs(tmp_path / "in.jsonl", 50)
    out = tmp_path / "out.jsonl"
    env = {
        **os.environ,
        "FASTCREW_BATCH_API_KEY": "sk-batch-secret-1",
        "FASTCREW_SIM_API_KEY": "sk-sim-secret-2",
    }
    process = subprocess.Popen(
        simulate_cmd(inputs, out, "latency_ms=3600000"), stderr=subprocess.PIPE, env=env
    )
    try:
        wait_for(
            lambda: simulator_pids(process.pid) and len(worker_pids(process.pid)) == 2,
            what="the simulator and both workers",
        )
        for pid in [*worker_pids(process.pid), *simulator_pids(process.pid)]:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            assert b"secret" not in environ, pid
    finally:
        process.send_signal(signal.SIGINT)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 75, err.decode()
    assert b"secret" not in err
