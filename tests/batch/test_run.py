"""``run_batch`` end to end: real worker processes, real HTTP to a spawned simulator.

Answers are a pure function of the simulator's seed and the request, and they echo the
task's prompt, so every row can be checked against its own input and two runs compared.
"""

from __future__ import annotations

import gzip
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastcrew import BatchResult, ConfigurationError, LLMConfigurationError, run_batch
from fastcrew.batch.config import BatchConfig
from fastcrew.sim import SpawnedSim, spawn

from .crews import CAPPED_RPM
from .helpers import (
    CREW,
    CREWS,
    assert_exactly_once_in_order,
    batch_cmd,
    deterministic,
    read_rows,
    write_inputs,
)

SECRET = "sk-batch-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def sim() -> Iterator[SpawnedSim]:
    """A simulator with per-request jitter (rows finish out of order)."""
    with spawn(seed=7, latency_ms=2, jitter_ms=10, jitter_sigma=1.0) as server:
        yield server


def batch(inputs: Path, output: Path, sim: SpawnedSim, **kwargs: object) -> BatchResult:
    kwargs.setdefault("crew", CREW)
    kwargs.setdefault("workers", 2)
    return run_batch(inputs, output=output, base_url=sim.base_url, quiet=True, **kwargs)


def test_thousands_of_rows_exactly_once_in_input_order(tmp_path: Path, sim: SpawnedSim):
    n = 3000
    inputs = write_inputs(tmp_path / "in.jsonl", n)
    out = tmp_path / "out.jsonl"
    sim.reset_stats()
    result = batch(inputs, out, sim, concurrency=50, chunk_size=8)
    assert (result.status, result.exit_code, result.rows_ok, result.rows_error) == (
        "complete",
        0,
        n,
        0,
    )
    rows = read_rows(out)
    assert_exactly_once_in_order(rows, n)
    assert sim.stats()["requests_total"] == n  # one call per row, none repeated
    summary = json.loads(Path(str(out) + ".summary.json").read_text())
    assert summary["rows"] == {"ok": n, "error": 0, "written": n, "total": n}
    assert summary["this_run"]["llm_calls"] == n
    assert summary["reorder_peak"] <= summary["reorder_window"]
    usage = rows[0]["usage"]
    assert usage["requests"] == 1
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    assert rows[0]["output"]["tasks"][0]["name"] == "answer"
    # Re-running the same command finds nothing to do and touches nothing.
    before = out.read_bytes()
    again = batch(inputs, out, sim)
    assert (again.status, again.exit_code) == ("complete", 0)
    assert out.read_bytes() == before
    assert sim.stats()["requests_total"] == n


def test_gzip_input(tmp_path: Path, sim: SpawnedSim):
    inputs = write_inputs(tmp_path / "in.jsonl.gz", 200, gz=True)
    out = tmp_path / "out.jsonl"
    result = batch(inputs, out, sim, workers=1)
    assert result.exit_code == 0
    assert_exactly_once_in_order(read_rows(out), 200)


def test_an_input_that_breaks_mid_run_stops_it_resumably(tmp_path: Path, sim: SpawnedSim):
    # A truncated .gz: a read after the first ones fails. That read ran in an
    # unowned task whose error was lost: the run waited for the end of the input forever.
    pad = "x" * 1000  # rows of ~1 KB: the first read needs ~2 MB of the ~6 MB
    lines = [json.dumps({"id": f"r{i}", "topic": f"topic-{i}", "pad": pad}) for i in range(6000)]
    data = gzip.compress("".join(line + "\n" for line in lines).encode())
    inputs = tmp_path / "in.jsonl.gz"
    inputs.write_bytes(data[: len(data) * 2 // 3])
    out = tmp_path / "out.jsonl"
    cmd = batch_cmd(inputs, out, sim.base_url)
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        try:
            _, err = process.communicate(timeout=60)
        finally:
            process.kill()
    assert process.returncode == 65, err.decode()
    assert "cannot read" in err.decode()
    assert "EOFError" in err.decode()
    rows = read_rows(out)
    # The rows workers had started finish and are written in order; how many had started
    # when the read broke depends on the machine's speed (queued rows come back unstarted).
    assert 0 < len(rows) < 6000
    assert_exactly_once_in_order(rows, len(rows))


def test_openai_batch_lines_need_no_crew(tmp_path: Path, sim: SpawnedSim):
    lines = []
    for i in range(20):
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"q{i}?"}]}
        if i == 3:
            body["max_tokens"] = 5
        lines.append(
            {"custom_id": f"c{i}", "method": "POST", "url": "/v1/chat/completions", "body": body}
        )
    lines[7]["url"] = "/v1/embeddings"
    lines[8]["body"] = {"model": "x"}
    inputs = tmp_path / "batch.jsonl"
    inputs.write_text("".join(json.dumps(x) + "\n" for x in lines) + '{"topic": "no crew"}\n')
    out = tmp_path / "out.jsonl"
    result = batch(inputs, out, sim, crew=None)
    assert (result.exit_code, result.rows_ok, result.rows_error) == (3, 18, 3)
    rows = read_rows(out)
    assert [r.get("custom_id") for r in rows[:20]] == [f"c{i}" for i in range(20)]
    ok = rows[0]
    assert ok["id"] == "batch_req_0"
    assert ok["error"] is None
    assert ok["response"]["status_code"] == 200
    body = ok["response"]["body"]
    assert body["object"] == "chat.completion"
    assert body["model"] == "gpt-4o-mini"
    assert "q0?" in body["choices"][0]["message"]["content"]
    assert body["usage"]["total_tokens"] > 0
    assert rows[3]["response"]["body"]["choices"][0]["finish_reason"] == "length"
    assert rows[7]["response"] is None
    assert rows[7]["error"]["code"] == "InvalidBatchRequest"
    assert "/v1/embeddings" in rows[7]["error"]["message"]
    assert rows[8]["error"]["code"] == "InvalidBatchRequest"
    last = rows[20]
    assert last["status"] == "error"
    assert last["error"]["type"] == "ConfigurationError"
    assert "--crew" in last["error"]["message"]


def test_bad_lines_become_error_rows_and_the_batch_goes_on(tmp_path: Path, sim: SpawnedSim):
    inputs = tmp_path / "in.jsonl"
    with inputs.open("wb") as f:
        f.write(b'{"id": "r0", "topic": "topic-0"}\n')
        f.write(b"{not json\n")  # line 2
        f.write(b"\n   \n")  # lines 3-4: blank, skipped
        f.write(b"[1, 2]\n")  # line 5
        f.write(b'{"id": "bad-utf8", "topic": "caf\xe9"}\n')  # line 6
        f.write(b'{"id": "huge", "topic": "' + b"x" * (10 * 1024 * 1024) + b'"}\n')  # line 7
        f.write(b'{"id": "no-topic"}\n')  # line 8
        f.write(b'{"id": "r6", "topic": "topic-6"}')  # line 9, no final newline
    out = tmp_path / "out.jsonl"
    result = batch(inputs, out, sim)
    assert (result.exit_code, result.rows_ok, result.rows_error) == (3, 2, 5)
    rows = read_rows(out)
    assert [r["index"] for r in rows] == list(range(7))
    kinds = [(r["status"], r["error"] and (r["error"]["type"], r["error"]["line"])) for r in rows]
    assert kinds == [
        ("ok", None),
        ("error", ("InvalidJSON", 2)),
        ("error", ("NotAnObject", 5)),
        ("error", ("InvalidUTF8", 6)),
        ("error", ("LineTooLong", 7)),
        ("error", ("InputError", 8)),
        ("ok", None),
    ]
    assert "10,485,787 bytes" in rows[4]["error"]["message"]
    assert rows[5]["id"] == "no-topic"
    assert rows[5]["error"]["variable"] == "topic"
    assert rows[5]["error"]["attempts"] == 1
    assert rows[1]["usage"]["total_tokens"] == 0


def test_strict_stops_at_the_first_bad_line(tmp_path: Path, sim: SpawnedSim):
    inputs = write_inputs(tmp_path / "in.jsonl", 300)
    lines = inputs.read_text().splitlines()
    lines[150] = '{"id": "r150"}'  # no topic: a missing placeholder
    inputs.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    result = batch(inputs, out, sim, strict=True, concurrency=4, chunk_size=2)
    assert (result.status, result.exit_code) == ("bad_input", 65)
    assert "line 151" in result.summary["stop_message"]
    assert "InputError" in result.summary["stop_message"]
    # Rows running at the stop finish; rows not started yet are left for a later run, so
    # the ordered prefix ends at or before the bad line, which is not recorded at all.
    rows = read_rows(out)
    assert 100 <= len(rows) <= 150
    assert [r["index"] for r in rows] == list(range(len(rows)))
    assert all(r["status"] == "ok" for r in rows)
    journal = Path(str(out) + ".journal").read_bytes()
    assert b'{"i":150,' not in journal


def test_retry_failed_reruns_only_error_rows(tmp_path: Path):
    n = 400
    inputs = write_inputs(tmp_path / "in.jsonl", n)
    out = tmp_path / "out.jsonl"
    ref = tmp_path / "ref.jsonl"
    crew = f"{CREWS}:no_retry_crew"
    with spawn(seed=3, fail_rate=0.25) as faulty, spawn(seed=3) as clean:
        first = batch(inputs, out, faulty, crew=crew)
        assert (first.status, first.exit_code) == ("complete", 3)
        failed = {r["index"] for r in read_rows(out) if r["status"] == "error"}
        assert 40 < len(failed) < 160
        assert {r["error"]["type"] for r in read_rows(out) if r["status"] == "error"} == {
            "ServerError"
        }
        faulty.reset_stats()
        second = batch(inputs, out, faulty, crew=crew, retry_failed=True)
        assert faulty.stats()["requests_total"] == len(failed)  # ok rows are not re-run
        rows = read_rows(out)
        assert [r["index"] for r in rows] == list(range(n))
        again = {r["index"]: r for r in rows if r["status"] == "error"}
        assert set(again) <= failed
        assert second.rows_error == len(again)
        assert all(r["error"]["attempts"] == 2 for r in again.values())
        third = batch(inputs, out, clean, crew=crew, retry_failed=True)
        assert (third.status, third.exit_code, third.rows_ok) == ("complete", 0, n)
        batch(inputs, ref, clean, crew=crew)
    assert deterministic(read_rows(out)) == deterministic(read_rows(ref))
    assert not Path(str(out) + ".tmp").exists()


def test_a_changed_input_is_refused_until_restart(tmp_path: Path, sim: SpawnedSim):
    inputs = write_inputs(tmp_path / "in.jsonl", 50)
    out = tmp_path / "out.jsonl"
    assert batch(inputs, out, sim).exit_code == 0
    write_inputs(inputs, 50, start=1)
    with pytest.raises(ConfigurationError, match=r"input changed.*--restart"):
        batch(inputs, out, sim)
    with pytest.raises(ConfigurationError, match=r"nothing to retry|--restart"):
        batch(inputs, out, sim, retry_failed=True)
    result = batch(inputs, out, sim, restart=True)
    assert result.exit_code == 0
    assert read_rows(out)[0]["id"] == "r1"


def test_an_output_without_journal_is_not_overwritten(tmp_path: Path, sim: SpawnedSim):
    inputs = write_inputs(tmp_path / "in.jsonl", 5)
    out = tmp_path / "out.jsonl"
    out.write_text("precious\n")
    with pytest.raises(ConfigurationError, match=r"no journal.*--restart"):
        batch(inputs, out, sim)
    assert out.read_text() == "precious\n"
    with pytest.raises(ConfigurationError, match="nothing to resume"):
        batch(inputs, tmp_path / "other.jsonl", sim, resume=True)


def test_setup_errors_are_raised_before_anything_runs(tmp_path: Path, sim: SpawnedSim):
    inputs = write_inputs(tmp_path / "in.jsonl", 3)
    out = tmp_path / "out.jsonl"
    with pytest.raises(ConfigurationError, match="does not exist"):
        batch(tmp_path / "missing.jsonl", out, sim)
    with pytest.raises(ConfigurationError, match=r"expected 'path/to/file\.py:name'"):
        batch(inputs, out, sim, crew="no-colon")
    with pytest.raises(ConfigurationError, match="not a fastcrew Crew"):
        batch(inputs, out, sim, crew=f"{CREWS}:not_a_crew")
    with pytest.raises(ConfigurationError, match="at least twice ping_interval"):
        batch(inputs, out, sim, ping_timeout=1.0)
    with pytest.raises(ConfigurationError, match="concurrency must be >= 1, got 0"):
        batch(inputs, out, sim, concurrency=0)
    assert not out.exists()
    assert not Path(str(out) + ".journal").exists()


def test_a_batch_config_is_the_same_call_with_keywords_on_top(tmp_path: Path, sim: SpawnedSim):
    inputs = write_inputs(tmp_path / "in.jsonl", 40)
    config = BatchConfig(
        inputs=str(inputs),
        output=str(tmp_path / "out.jsonl"),
        crew=CREW,
        workers=1,
        base_url=sim.base_url,
        quiet=True,
    )
    result = run_batch(config, concurrency=7)
    assert (result.status, result.rows_ok) == ("complete", 40)
    assert (result.summary["workers"], result.summary["concurrency"]) == (1, 7)
    assert_exactly_once_in_order(read_rows(tmp_path / "out.jsonl"), 40)


def test_no_llm_configured_exits_at_once_with_the_ways_to_configure_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "MODEL"):
        monkeypatch.delenv(name, raising=False)
    inputs = write_inputs(tmp_path / "in.jsonl", 3)
    with pytest.raises(LLMConfigurationError) as caught:  # the kind travels from the worker
        run_batch(inputs, crew=CREW, output=tmp_path / "out.jsonl", workers=1, quiet=True)
    text = str(caught.value)
    assert "no LLM is configured" in text
    for way in ("--simulate", "--base-url", "OPENAI_API_KEY", "ollama"):
        assert way in text


def test_the_api_key_never_appears_in_any_file_or_message(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
):
    inputs = write_inputs(tmp_path / "in.jsonl", 30)
    out = tmp_path / "out.jsonl"
    with spawn(seed=1, api_key=SECRET) as guarded:
        ok = run_batch(
            inputs, crew=CREW, output=out, base_url=guarded.base_url, api_key=SECRET, workers=1
        )
        assert ok.exit_code == 0
        wrong = run_batch(
            inputs,
            crew=CREW,
            output=tmp_path / "wrong.jsonl",
            base_url=guarded.base_url,
            api_key=SECRET[::-1],
            workers=1,
        )
        assert wrong.exit_code == 77  # the refused key stops the run (issue 20 §1)
    assert "refused the API key (401)" in wrong.summary["stop_message"]
    assert read_rows(tmp_path / "wrong.jsonl") == []  # the rows stay unstarted
    captured = capfd.readouterr()
    for text in (captured.out, captured.err, repr(ok), repr(wrong)):
        assert SECRET not in text
        assert SECRET[::-1] not in text
    for path in tmp_path.iterdir():
        data = path.read_bytes()
        assert SECRET.encode() not in data
        assert SECRET[::-1].encode() not in data
    config = BatchConfig(inputs="x", output="y", api_key=SECRET)
    assert SECRET not in repr(config)
    assert "***" in repr(config)


def admitted_bound(rate: float, burst: float, elapsed_s: float) -> float:
    """What one token bucket (``rate``/s, ``burst`` at once) can admit in ``elapsed_s``."""
    return burst + rate * elapsed_s


def test_one_global_budget_across_workers(tmp_path: Path):
    """Two workers under ``--rpm 3000`` (50/s, burst 50) share one budget, not 50/s each.

    Asserted on counts, not wall-clock rates: everything the provider saw was admitted by one
    bucket over the run's own elapsed time (a slow machine only makes that bound looser, a
    second budget breaks it), and the provider, limiting at the same rate, refused nothing.
    """
    n, rpm = 200, 3000
    rate = rpm / 60
    inputs = write_inputs(tmp_path / "in.jsonl", n)
    out = tmp_path / "out.jsonl"
    with spawn(seed=1, rpm=rpm, limit_window_s=1) as limited:
        result = batch(inputs, out, limited, rpm=rpm, concurrency=50)
        stats = limited.stats()
    assert (result.exit_code, result.rows_ok) == (0, n)
    assert_exactly_once_in_order(read_rows(out), n)
    elapsed = result.summary["this_run"]["elapsed_s"]
    assert stats["requests_total"] == n  # none refused and retried
    assert stats["by_status"].get("429", 0) == 0
    assert result.summary["this_run"]["rate_limited_429"] == 0
    # Two budgets would finish n calls in about (n - 2 x burst) / (2 x rate) s = 1 s.
    assert n <= admitted_bound(rate, rate, elapsed)
    assert result.summary["rate_limit"]["rpm"] == rpm


def test_a_crew_max_rpm_cap_holds_across_workers(tmp_path: Path):
    """``Crew(max_rpm=1200)`` (20/s, burst 20) in 2 workers: 20/s in all, not 20/s each."""
    n = 80
    rate = CAPPED_RPM / 60
    inputs = write_inputs(tmp_path / "in.jsonl", n)
    out = tmp_path / "out.jsonl"
    with spawn(seed=2) as fast:
        result = batch(inputs, out, fast, crew=f"{CREWS}:capped_crew", concurrency=4, chunk_size=2)
        stats = fast.stats()
    assert (result.exit_code, result.rows_ok) == (0, n)
    assert_exactly_once_in_order(read_rows(out), n)
    # One cap admits at most burst + rate x t: the n calls the provider saw need
    # (n - burst) / rate = 3 s at least (one cap per worker would need half that).
    assert stats["requests_total"] == n
    assert n <= admitted_bound(rate, rate, result.summary["this_run"]["elapsed_s"])
    assert result.summary["rate_limit"]["rpm"] is None  # a cap is not the endpoint's limit
