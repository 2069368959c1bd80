"""Duplicate ``custom_id`` s: each later line is refused (an error row, no provider call),
the batch goes on, and a resumed run still knows the ids an earlier run finished."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fastcrew.batch.duplicates import CustomIds
from fastcrew.sim import SpawnedSim, spawn

from .helpers import read_rows

URL = "/v1/chat/completions"


@pytest.fixture(scope="module")
def sim() -> Iterator[SpawnedSim]:
    with spawn(seed=5) as server:
        yield server


def _line(custom_id: Any, prompt: str, *, raw_id: str | None = None) -> str:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]}
    line = json.dumps({"custom_id": custom_id, "method": "POST", "url": URL, "body": body})
    if raw_id is not None:  # the custom_id written another way
        line = line.replace(json.dumps(custom_id), raw_id, 1)
    return line


def _run(inputs: Path, out: Path, sim: SpawnedSim, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "fastcrew", "batch", str(inputs), "-o", str(out), "--workers", "1"]
    cmd += ["--base-url", sim.base_url, "--api-key", "sk-test", "--no-progress", *extra]
    return subprocess.run(cmd, capture_output=True, timeout=60)


def _duplicate_of(row: dict[str, Any]) -> int | None:
    error = row.get("error") or {}
    if error.get("code") != "duplicate_custom_id":
        return None
    assert row["response"] is None
    return int(error["message"].split("already used on line ")[1].split(":")[0])


def test_each_duplicate_is_refused_unsent_and_the_batch_goes_on(tmp_path: Path, sim: SpawnedSim):
    lines = [
        _line("c0", "first"),  # line 1
        _line("c1", "second"),  # line 2
        _line("c0", "again"),  # line 3: duplicate of line 1
        _line(7, "a number"),  # line 4
        _line("c1", "escaped", raw_id='"c\\u0031"'),  # line 5: the same string, escaped
        json.dumps({"custom_id": "c0", "topic": "not a batch request"}),  # line 6: no body
        _line(7, "the number again"),  # line 7: duplicate of line 4
        _line("c0", "third time"),  # line 8: duplicate of line 1
        _line("C0", "other case"),  # line 9
    ]
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    sim.reset_stats()
    done = _run(inputs, out, sim)
    assert done.returncode == 3, done.stderr.decode()
    rows = read_rows(out)
    assert [_duplicate_of(row) for row in rows] == [None, None, 1, None, 2, None, 4, 1, None]
    ids = [row.get("custom_id") for row in rows]
    assert ids == ["c0", "c1", "c0", 7, "c1", None, 7, "c0", "C0"]
    assert rows[4]["error"]["message"].startswith('custom_id "c\\u0031" was already used')
    assert rows[5]["error"]["type"] == "ConfigurationError"  # an input row, not a request
    ok = [i for i, row in enumerate(rows) if (row.get("response") or {}).get("status_code") == 200]
    assert ok == [0, 1, 3, 8]
    assert sim.stats()["requests_total"] == 4  # no duplicate reached the provider


def test_a_resumed_run_refuses_a_duplicate_of_a_row_finished_before(
    tmp_path: Path, sim: SpawnedSim
):
    lines = [_line("c0", "first"), _line("c1", "second"), _line("c0", "again")]
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    # --strict stops the run at the duplicate (a bad input line); rows 0-1 are finished.
    stopped = _run(inputs, out, sim, "--strict")
    assert stopped.returncode != 0
    assert "line 3: duplicate_custom_id: " in stopped.stderr.decode()
    assert [row.get("custom_id") for row in read_rows(out)] == ["c0", "c1"]
    sim.reset_stats()
    resumed = _run(inputs, out, sim)
    assert resumed.returncode == 3, resumed.stderr.decode()
    rows = read_rows(out)
    assert [_duplicate_of(row) for row in rows] == [None, None, 1]
    assert sim.stats()["requests_total"] == 0  # nothing re-sent, the duplicate refused
    retried = _run(inputs, out, sim, "--retry-failed")  # re-runs just the duplicate's row
    assert retried.returncode == 3, retried.stderr.decode()
    assert [_duplicate_of(row) for row in read_rows(out)] == [None, None, 1]
    assert sim.stats()["requests_total"] == 0


def test_custom_ids_keep_a_digest_and_the_first_line_per_distinct_id():
    seen = CustomIds()
    assert seen.check(_line("a", "x").encode(), 1) is None
    assert seen.check(_line("a", "y").encode(), 4) == 1
    assert seen.check(b'{"custom_id": "a", "topic": "no body"}', 5) is None
    assert seen.check(b"{not json", 6) is None
    assert seen.check(_line(18446744073709551616, "big").encode(), 7) is None
    assert seen.check(_line(18446744073709551617, "big + 1").encode(), 8) is None  # no float
    assert list(seen.first.values()) == [1, 7, 8]
