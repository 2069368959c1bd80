"""Bounded recovery: the rows a previous run left are copied in bounded slices, so the
supervisor's memory stays flat whatever the output's size — ``--retry-failed`` over a big
finished output whose last row failed, and a deleted output rebuilt from its journal.

The files are made the way a previous run leaves them (the row and journal functions of the
batch itself), then a real ``fastcrew batch`` runs under a small wrapper process that reports
its children's peak RSS (``ru_maxrss`` of ``RUSAGE_CHILDREN``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastcrew.batch.rows import ZERO_USAGE, error_row, ok_row
from fastcrew.batch.storage.inputs import input_identity, row_digest
from fastcrew.batch.storage.journal import Journal, compact, header, record
from fastcrew.sim import SpawnedSim, spawn

from .helpers import batch_cmd, read_rows, write_inputs

BIG = 30_000
PAD = 2_000  # bytes of output per row: ~63 MB for BIG rows
BOUND_KB = 40 * 1024

_WRAPPER = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], stderr=subprocess.PIPE)\n"
    "sys.stderr.write(done.stderr.decode())\n"
    "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


@pytest.fixture(scope="module")
def sim() -> Iterator[SpawnedSim]:
    with spawn(seed=5) as server:
        yield server


def rows_of(inputs: Path, n: int, pad: int) -> Iterator[tuple[int, bytes]]:
    """The output rows a previous run wrote for ``inputs``: all ok but the last."""
    for i in range(n):
        obj = {"id": f"r{i}", "topic": f"topic-{i}"}
        if i == n - 1:
            yield i, error_row(i, obj, "LLMError", "the provider failed", line=i + 1)
        else:
            raw = f"Tell me about topic-{i} " + "x" * pad
            yield i, ok_row(i, obj, {"raw": raw}, dict(ZERO_USAGE), 0.01)


def finished_output(tmp_path: Path, n: int, pad: int) -> tuple[Path, Path]:
    """A finished run of ``n`` rows whose last row failed (compacted journal)."""
    inputs = write_inputs(tmp_path / "in.jsonl", n)
    out = tmp_path / "out.jsonl"
    with out.open("wb") as f:
        for _, row in rows_of(inputs, n, pad):
            f.write(row + b"\n")
    compact(str(out) + ".journal", header(input_identity(str(inputs)).to_json()), n)
    return inputs, out


def deleted_output(tmp_path: Path, n: int, pad: int) -> tuple[Path, Path]:
    """An interrupted run of ``n`` rows (all but the last in the journal), output deleted."""
    inputs = write_inputs(tmp_path / "in.jsonl", n)
    lines = inputs.read_bytes().splitlines()
    out = tmp_path / "out.jsonl"
    journal = Journal(str(out) + ".journal", header(input_identity(str(inputs)).to_json()))
    for i, row in rows_of(inputs, n - 1, pad):
        journal.append([record(i, "ok", row_digest(lines[i]), row)])
    journal.close()
    return inputs, out


def peak_rss_kb(inputs: Path, out: Path, sim: SpawnedSim, *extra: str) -> int:
    argv = batch_cmd(inputs, out, sim.base_url, *extra)
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *argv], capture_output=True, text=True, timeout=300
    )
    code, peak = done.stdout.split()
    assert code == "0", done.stderr
    return int(peak)


@pytest.mark.parametrize(
    ("make", "extra"),
    [(finished_output, ("--retry-failed",)), (deleted_output, ())],
    ids=["retry-failed", "deleted-output"],
)
def test_recovering_a_big_output_keeps_the_supervisors_memory_flat(
    make, extra: tuple[str, ...], sim: SpawnedSim, tmp_path: Path
):
    small_dir, big_dir = tmp_path / "small", tmp_path / "big"
    small_dir.mkdir()
    big_dir.mkdir()
    inputs, out = make(small_dir, 100, 10)
    baseline = peak_rss_kb(inputs, out, sim, *extra)
    inputs, out = make(big_dir, BIG, PAD)
    size = os.path.getsize(out) if out.exists() else os.path.getsize(str(out) + ".journal")
    assert size > 60 * 1024 * 1024
    peak = peak_rss_kb(inputs, out, sim, *extra)
    print(f"peak RSS {baseline >> 10} MB (small), {peak >> 10} MB ({size >> 20} MB output)")
    assert peak - baseline < BOUND_KB
    rows = read_rows(out)
    assert len(rows) == BIG
    assert [row["index"] for row in rows] == list(range(BIG))
    last = rows[-1]
    assert last["status"] == "ok"
    assert f"topic-{BIG - 1} " in last["output"]["raw"] + " "
