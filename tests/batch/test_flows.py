"""``fastcrew batch --flow``: one flow per row over real worker processes and the simulator —
result and state in input order, error rows naming the failing method, metered usage,
resume, and the ``--simulate`` redirection of LLMs built inside flow methods."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastcrew import ConfigurationError, run_batch
from fastcrew.sim import SpawnedSim, spawn

from .flows import FAIL_TOPIC
from .helpers import batch_cmd, deterministic, journal_rows, read_rows, wait_for, write_inputs

FLOWS = str(Path(__file__).with_name("flows.py"))
FLOW = f"{FLOWS}:RowFlow"


@pytest.fixture(scope="module")
def sim() -> Iterator[SpawnedSim]:
    """Answers take 5 to 15 ms: rows finish out of order, a run of 200 rows takes a while."""
    with spawn(seed=5, latency_ms=5, jitter_ms=10) as server:
        yield server


@pytest.fixture
def no_llm_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No endpoint from the test's environment: the workers' settings decide."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "MODEL"):
        monkeypatch.delenv(name, raising=False)


def assert_flow_row(row: dict, index: int, topic: str) -> None:
    assert row["index"] == index
    assert row["status"] == "ok", row
    output = row["output"]
    assert set(output) == {"result", "state"}
    assert output["result"]["topic"] == topic
    assert output["result"]["words"] > 0
    state = output["state"]
    assert set(state) == {"topic", "summary", "angle", "id"}
    assert f"Summarise {topic}" in state["summary"]
    assert f"An angle on {topic}" in state["angle"]
    usage = row["usage"]
    assert usage["requests"] == 2  # two crews, one call each
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


def test_simulated_flow_batch_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_llm_env: None
):
    # A real provider in the environment: --simulate must redirect llm="gpt-4o-mini" built
    # inside flow methods, and hand the workers no key to spend there.
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-be-used")
    rows_in = [
        {"id": "a", "topic": "tides"},
        {"id": "b", "topic": "glaciers"},
        {"id": "c", "topic": FAIL_TOPIC},
        {"id": "d"},  # the state needs a topic
        {"topic": "dunes"},  # no id: the state's id is derived from the row
    ]
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("".join(json.dumps(r) + "\n" for r in rows_in))
    out = tmp_path / "out.jsonl"
    result = run_batch(inputs, flow=FLOW, output=out, workers=2, simulate=True, quiet=True)
    assert (result.status, result.exit_code, result.rows_ok, result.rows_error) == (
        "complete",
        3,
        3,
        2,
    )
    assert result.summary["simulated"] is True
    rows = read_rows(out)
    assert [r["index"] for r in rows] == list(range(5))
    for i in (0, 1, 4):
        assert_flow_row(rows[i], i, rows_in[i]["topic"])
    assert [rows[0]["output"]["state"]["id"], rows[1]["output"]["state"]["id"]] == ["a", "b"]
    assert "id" not in rows[4]
    failed = rows[2]["error"]
    assert failed["type"] == "ValueError"
    assert f"cannot combine {FAIL_TOPIC!r}" in failed["message"]
    assert "in flow method 'combine' of RowFlow" in failed["message"]
    assert rows[2]["usage"]["requests"] == 0
    bad = rows[3]["error"]
    assert (bad["type"], bad["variable"], bad["line"]) == ("InputError", "topic", 4)
    assert result.summary["this_run"]["llm_calls"] == 3 * 2 + 2  # the failed row's two too

    # The same rows again: identical output, up to timing (state ids included).
    again = tmp_path / "again.jsonl"
    run_batch(inputs, flow=FLOW, output=again, workers=1, simulate=True, quiet=True)
    assert deterministic(read_rows(again)) == deterministic(rows)


def flow_cmd(inputs: Path, output: Path, base_url: str, *extra: str, flow: str = FLOW) -> list[str]:
    return batch_cmd(inputs, output, base_url, *extra, option="--flow", spec=flow)


def test_flow_usage_is_exact_and_an_interrupted_flow_batch_resumes(
    tmp_path: Path, sim: SpawnedSim, no_llm_env: None
):
    n = 200
    inputs = write_inputs(tmp_path / "in.jsonl", n)
    reference = tmp_path / "ref.jsonl"
    sim.reset_stats()
    done = subprocess.run(flow_cmd(inputs, reference, sim.base_url), capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    ref_rows = read_rows(reference)
    for i, row in enumerate(ref_rows):
        assert_flow_row(row, i, f"topic-{i}")
        assert row["id"] == row["output"]["state"]["id"] == f"r{i}"
    stats = sim.stats()
    assert stats["requests_total"] == 2 * n
    usage = [r["usage"] for r in ref_rows]
    assert sum(u["requests"] for u in usage) == 2 * n  # every call metered once
    assert sum(u["prompt_tokens"] for u in usage) == stats["prompt_tokens"]
    assert sum(u["completion_tokens"] for u in usage) == stats["completion_tokens"]

    out = tmp_path / "out.jsonl"
    sim.reset_stats()
    process = subprocess.Popen(
        flow_cmd(inputs, out, sim.base_url, "--concurrency", "4"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    wait_for(lambda: journal_rows(out) >= n // 4, what="a quarter of the rows")
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 75, err.decode()
    finished = journal_rows(out)
    assert finished < n
    assert sim.stats()["requests_total"] == 2 * finished  # rows in flight finished
    resumed = subprocess.run(flow_cmd(inputs, out, sim.base_url), capture_output=True)
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert sim.stats()["requests_total"] == 2 * n  # journaled rows were not run again
    assert deterministic(read_rows(out)) == deterministic(ref_rows)


def test_a_flow_that_does_not_load_stops_the_run_before_any_row(tmp_path: Path, sim: SpawnedSim):
    inputs = write_inputs(tmp_path / "in.jsonl", 3)
    out = tmp_path / "out.jsonl"
    with pytest.raises(ConfigurationError, match=r"not a subclass of fastcrew\.flow\.Flow"):
        run_batch(inputs, flow=f"{FLOWS}:not_a_flow", output=out, base_url=sim.base_url, quiet=True)
    assert not out.exists()
    with pytest.raises(ConfigurationError, match=r"--flow 'nope': expected"):
        run_batch(inputs, flow="nope", output=out, base_url=sim.base_url, quiet=True)
    with pytest.raises(ConfigurationError, match="--crew and --flow exclude each other"):
        run_batch(inputs, crew="a.py:b", flow=FLOW, output=out, quiet=True)


def test_sync_flow_methods_calling_kickoff_lease_from_the_global_budget(
    tmp_path: Path, sim: SpawnedSim, no_llm_env: None
):
    # Each sync method runs crew.kickoff() on its own loop in a thread; its limiter's budget
    # must talk to the supervisor through the worker's main loop (and --rpm makes it lease).
    n = 30
    inputs = write_inputs(tmp_path / "in.jsonl", n)
    out = tmp_path / "out.jsonl"
    sim.reset_stats()
    cmd = flow_cmd(inputs, out, sim.base_url, "--rpm", "60000", flow=f"{FLOWS}:SyncRowFlow")
    done = subprocess.run(cmd, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    rows = read_rows(out)
    for i, row in enumerate(rows):
        assert_flow_row(row, i, f"topic-{i}")
    assert sim.stats()["requests_total"] == 2 * n
    # one count: the summary's LLM calls are the calls the rows made (was 0: the calls ran
    # on thread loops whose limiters the worker did not see)
    summary = json.loads(Path(str(out) + ".summary.json").read_text())
    assert summary["this_run"]["llm_calls"] == 2 * n
    assert sum(row["usage"]["requests"] for row in rows) == 2 * n


def test_a_row_whose_output_cannot_be_serialised_becomes_an_error_row():
    # Without it the worker's row task died with the TypeError: the row was never reported,
    # so the supervisor waited for it forever.
    from fastcrew.batch.config import WorkerConfig
    from fastcrew.batch.rows import ERROR
    from fastcrew.batch.worker.runner import RowRunner

    config = WorkerConfig(
        crew=None,
        flow=f"{FLOWS}:HugeIntFlow",
        concurrency=1,
        chunk_size=1,
        loop="asyncio",
        rpm=None,
        tpm=None,
        model=None,
        base_url=None,
        api_key=None,
        simulated=False,
        timeout=None,
        max_line_bytes=1 << 20,
    )
    runner = RowRunner(config)
    result = asyncio.run(runner.run(3, 4, b'{"id": "x"}', 1))
    assert (result.index, result.kind, result.requests, result.tokens) == (3, ERROR, 0, 0)
    parsed = json.loads(result.row)
    assert (parsed["index"], parsed["id"], parsed["status"]) == (3, "x", "error")
    assert parsed["error"]["type"] == "TypeError"
    assert parsed["error"]["line"] == 4
