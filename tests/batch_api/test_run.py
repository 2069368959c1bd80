"""``fastcrew batch --via batch-api`` end to end: real worker processes, a spawned simulator
serving the Files and Batch APIs, crews whose LLM calls go out in rounds of batch jobs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from batch.helpers import read_rows, wait_for, write_inputs

from fastcrew.sim import spawn

CREWS = str(Path(__file__).with_name("crews.py"))
SLOW_START_CREW = str(Path(__file__).with_name("slow_start_crew.py")) + ":three_step_crew"
TOOL_CREW = str(Path(__file__).parents[1] / "batch" / "crews.py") + ":tool_crew"
FAST = ("--batch-api-poll", "0.05", "--batch-api-idle", "0.5")


def _cmd(inputs: Path, out: Path, base_url: str, *extra: str, crew: str = "") -> list[str]:
    return [
        sys.executable, "-m", "fastcrew", "batch", str(inputs),
        "--crew", crew or f"{CREWS}:three_step_crew", "-o", str(out), "--workers", "2",
        "--concurrency", "500", "--base-url", base_url, "--no-progress", *extra,
    ]  # fmt: skip


def _run(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False, env=env)


def _summary(out: Path) -> dict[str, Any]:
    return json.loads(Path(str(out) + ".summary.json").read_text())


def _outputs(out: Path) -> list[Any]:
    return [row["output"]["raw"] for row in read_rows(out)]


def test_three_steps_are_three_rounds_and_match_http(tmp_path: Path) -> None:
    inputs = write_inputs(tmp_path / "in.jsonl", 300)
    with spawn(batch_delay=0) as sim:
        done = _run(_cmd(inputs, tmp_path / "b.jsonl", sim.base_url, "--via", "batch-api", *FAST))
        assert done.returncode == 0, done.stderr
        stats = sim.stats()
        assert stats["batch"]["batches_created"] == 3
        assert stats["batch"]["requests_completed"] == 900
        assert stats["requests_total"] == 0  # no chat call over HTTP
        http = _run(_cmd(inputs, tmp_path / "h.jsonl", sim.base_url))
        assert http.returncode == 0, http.stderr
    api = _summary(tmp_path / "b.jsonl")["batch_api"]
    assert api["rounds"] == 3
    assert api["requests"] == 900
    assert api["failed"] == 0
    assert "batch api: 3 rounds, 3 jobs, 900 requests" in done.stderr
    rows = read_rows(tmp_path / "b.jsonl")
    assert [row["status"] for row in rows] == ["ok"] * 300
    assert rows[0]["usage"]["total_tokens"] > 0
    # the same crews through the Batch API answer exactly as over HTTP
    assert _outputs(tmp_path / "b.jsonl") == _outputs(tmp_path / "h.jsonl")


def test_the_first_round_waits_for_a_worker_slow_to_start(tmp_path: Path) -> None:
    """One worker's crew import takes 2 s, four times ``--batch-api-idle``: the first round
    waits for it (before, the idle trigger sent the fast worker's calls alone: 6 rounds).
    Meanwhile the fast worker takes no more rows than it can run (before, ``--chunk-size``
    more queued there and made rounds of their own after the third)."""
    concurrency, chunk, rows = 50, 4, 96
    inputs = write_inputs(tmp_path / "in.jsonl", rows)
    flag = tmp_path / "slow-started"
    env = dict(os.environ, FASTCREW_TEST_SLOW_START=str(flag), FASTCREW_TEST_SLOW_START_S="2")
    out = tmp_path / "o.jsonl"
    with spawn(batch_delay=0) as sim:
        sizes = ("--concurrency", str(concurrency), "--chunk-size", str(chunk))
        cmd = _cmd(inputs, out, sim.base_url, "--via", "batch-api", *FAST, *sizes,
                   crew=SLOW_START_CREW)  # fmt: skip
        done = _run(cmd, env)
        assert done.returncode == 0, done.stderr
        assert sim.stats()["batch"]["batches_created"] == 3
    assert flag.exists()  # one worker did start slowly
    api = _summary(out)["batch_api"]
    assert api["rounds"] == 3
    assert api["requests"] == 3 * rows
    assert [row["status"] for row in read_rows(out)] == ["ok"] * rows


def test_tools_run_in_the_worker_between_rounds(tmp_path: Path) -> None:
    inputs = write_inputs(tmp_path / "in.jsonl", 40)
    with spawn(batch_delay=0) as sim:
        done = _run(
            _cmd(inputs, tmp_path / "o.jsonl", sim.base_url, "--via", "batch-api", *FAST,
                 crew=TOOL_CREW)
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert sim.stats()["batch"]["batches_created"] == 2  # tool call, then the answer
    assert all("LOOKUP-RESULT" in text for text in _outputs(tmp_path / "o.jsonl"))


def test_kill_9_while_polling_resumes_the_same_job(tmp_path: Path) -> None:
    """The supervisor dies with its first job in progress; the re-run polls that job (no
    second batch for its requests) and answers the rows' first step from it."""
    inputs = write_inputs(tmp_path / "in.jsonl", 100)
    out = tmp_path / "o.jsonl"
    journal = Path(str(out) + ".batchapi")
    with spawn(batch_delay=3) as sim:
        first = subprocess.Popen(_cmd(inputs, out, sim.base_url, "--via", "batch-api", *FAST))
        try:
            wait_for(lambda: b'"t":"batch"' in _read(journal), 60, "the first batch")
        finally:
            first.kill()
            first.wait(10)
        assert sim.stats()["batch"]["batches_created"] == 1
        done = _run(_cmd(inputs, out, sim.base_url, "--via", "batch-api", *FAST))
        assert done.returncode == 0, done.stderr
        stats = sim.stats()["batch"]
    assert stats["batches_created"] == 3
    assert stats["requests_completed"] == 300  # every request paid once
    api = _summary(out)["batch_api"]
    assert api["resumed_jobs"] == 1
    assert api["requests"] == 200  # this run's own: steps 2 and 3
    assert [row["status"] for row in read_rows(out)] == ["ok"] * 100


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


def test_a_rerun_pays_nothing_and_restart_forgets(tmp_path: Path) -> None:
    inputs = write_inputs(tmp_path / "in.jsonl", 30)
    out = tmp_path / "o.jsonl"
    with spawn(batch_delay=0) as sim:
        args = (inputs, out, sim.base_url, "--via", "batch-api", *FAST)
        assert _run(_cmd(*args)).returncode == 0
        assert _run(_cmd(*args, "--retry-failed")).returncode == 0  # nothing to re-run
        again = _run(_cmd(*args, "--restart"))
        assert again.returncode == 0, again.stderr
        assert sim.stats()["batch"]["batches_created"] == 6
    api = _summary(out)["batch_api"]
    assert api["requests"] == 90  # the restart asked everything again
    assert api["store_hits"] == 0
