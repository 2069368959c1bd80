"""Output integrity with real runs: whatever else touches the output's files, what the batch
writes is exactly what happened — a second run on the same output, a journal record damaged
after a crash, the output truncated during the run, a directory that cannot be written.

``fastcrew batch`` runs as a real process tree against a spawned simulator slow enough
(30 ms per call) that a run of N rows lasts a few seconds; moments are chosen by progress
(rows in the journal), never by sleeping.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fastcrew.batch.storage.lock import OutputLock
from fastcrew.errors import ConfigurationError
from fastcrew.sim import SpawnedSim, spawn

from .helpers import (
    assert_exactly_once_in_order,
    batch_cmd,
    journal_rows,
    kill,
    read_rows,
    running,
    wait_for,
    worker_pids,
    write_inputs,
)

N = 800


@pytest.fixture(scope="module")
def sim() -> Iterator[SpawnedSim]:
    with spawn(seed=3, latency_ms=30) as server:
        yield server


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_inputs(tmp_path_factory.mktemp("inputs") / "in.jsonl", N)


def cmd(inputs: Path | str, out: Path | str, sim: SpawnedSim) -> list[str]:
    return batch_cmd(inputs, Path(out), sim.base_url, "--concurrency", "5")


def start(inputs: Path, out: Path, sim: SpawnedSim) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd(inputs, out, sim), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def files_of(out: Path) -> dict[str, Any]:
    """Bytes and mtime of every file a run may touch beside ``out`` (None: absent)."""
    found: dict[str, Any] = {}
    for suffix in ("", ".journal", ".summary.json", ".tmp", ".lock", ".journal.tmp"):
        path = Path(str(out) + suffix)
        found[suffix] = (path.read_bytes(), path.stat().st_mtime_ns) if path.exists() else None
    return found


def test_a_second_run_on_an_output_in_use_refuses_at_once_and_writes_nothing(
    inputs: Path, sim: SpawnedSim, tmp_path: Path
):
    out = tmp_path / "out.jsonl"
    first = start(inputs, out, sim)
    wait_for(lambda: journal_rows(out) >= 50, what="the first run to make progress")
    os.kill(first.pid, signal.SIGSTOP)  # its files hold still while the second one tries
    try:
        before = files_of(out)
        started = time.monotonic()
        second = subprocess.run(cmd(inputs, out, sim), capture_output=True, timeout=120)
        took = time.monotonic() - started
        after = files_of(out)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    err = second.stderr.decode()
    assert second.returncode == 2, err
    assert "in use by another run" in err
    assert "Traceback" not in err
    assert after == before  # not a byte: output, journal, summary, tmp files
    assert before[".summary.json"] is None
    assert before[".tmp"] is None
    assert took < 15  # refused at start-up, not after running rows
    _, first_err = first.communicate(timeout=120)
    assert first.returncode == 0, first_err.decode()
    assert_exactly_once_in_order(read_rows(out), N)


def test_the_lock_is_held_until_the_run_ends_even_against_the_same_process(tmp_path: Path):
    """A second ``run_batch`` in the same process must not open (and so release) the lock."""
    out = tmp_path / "out.jsonl"
    probe = (
        "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR); "
        "fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)"
    )
    with OutputLock(str(out)) as lock:
        with pytest.raises(ConfigurationError, match="in use by another run"), OutputLock(str(out)):
            pass
        held = subprocess.run([sys.executable, "-c", probe, lock.path], capture_output=True)
        assert held.returncode != 0  # still locked for every other process
    free = subprocess.run([sys.executable, "-c", probe, lock.path], capture_output=True)
    assert free.returncode == 0, free.stderr.decode()


def damage(journal: Path, from_index: int) -> list[int]:
    """Damage three records of rows ``>= from_index``: a flipped letter (still valid JSON),
    a flipped brace (invalid JSON) and a lost newline (two records merged)."""
    lines = journal.read_bytes().split(b"\n")
    late = [
        n
        for n, line in enumerate(lines)
        if line.startswith(b'{"i":') and json.loads(line)["i"] >= from_index
    ]
    assert len(late) >= 5, "the journal holds too few rows past the output's end"
    damaged = [json.loads(lines[n])["i"] for n in late[:4]]
    a, b, c, _ = late[:4]
    lines[a] = lines[a].replace(b"topic-", b"topiX-", 1)
    lines[b] = lines[b].replace(b'"row":{', b'"row":[', 1)
    lines[c] = lines[c] + b" " + lines[c + 1]
    del lines[c + 1]
    journal.write_bytes(b"\n".join(lines))
    return damaged


def test_damaged_journal_records_past_the_outputs_end_never_reach_the_output(
    inputs: Path, sim: SpawnedSim, tmp_path: Path
):
    out = tmp_path / "out.jsonl"
    journal = Path(str(out) + ".journal")
    process = start(inputs, out, sim)
    wait_for(lambda: journal_rows(out) >= N // 3, what="a third of the rows")
    workers = worker_pids(process.pid)
    kill(process)
    process.communicate()
    wait_for(lambda: not any(running(p) for p in workers), what="workers to exit")
    lines = out.read_bytes().split(b"\n")[:-1]
    keep = len(lines) // 2  # the journal now holds many rows past the output's end
    out.write_bytes(b"".join(line + b"\n" for line in lines[:keep]))
    damaged = damage(journal, keep)
    resumed = subprocess.run(cmd(inputs, out, sim), capture_output=True, timeout=120)
    err = resumed.stderr.decode()
    assert resumed.returncode == 0, err
    assert "failed their check" in err
    raw = out.read_bytes().split(b"\n")
    assert raw[-1] == b""
    rows = [json.loads(line) for line in raw[:-1]]  # every line is valid JSON
    assert_exactly_once_in_order(rows, N)  # rows damaged in the journal were run again
    assert all(f"topic-{i} " in rows[i]["output"]["raw"] + " " for i in damaged)


@pytest.mark.parametrize("cut", ["mid-line", "line boundary"])
def test_an_output_truncated_during_the_run_stops_it_and_resume_makes_it_whole(
    cut: str, inputs: Path, sim: SpawnedSim, tmp_path: Path
):
    out = tmp_path / "out.jsonl"
    process = start(inputs, out, sim)
    wait_for(lambda: journal_rows(out) >= N // 3, what="a third of the rows")
    data = out.read_bytes()
    at = len(data) // 2
    if cut == "line boundary":
        at = data.rindex(b"\n", 0, at) + 1
    os.truncate(out, at)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 74, err.decode()
    assert "truncated or wrote to it during the run" in err.decode()
    assert journal_rows(out) > 0  # the journal was not compacted over the lost rows
    resumed = subprocess.run(cmd(inputs, out, sim), capture_output=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert_exactly_once_in_order(read_rows(out), N)


def test_a_missing_output_directory_is_a_bad_option(inputs: Path, tmp_path: Path):
    out = tmp_path / "no-such-dir" / "out.jsonl"
    done = subprocess.run(cmd(inputs, out, _NO_SIM), capture_output=True, timeout=60)
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert "output directory" in err
    assert "does not exist" in err
    assert "Traceback" not in err
    assert not out.parent.exists()


def test_a_read_only_output_directory_is_a_storage_error(inputs: Path, tmp_path: Path):
    """As root, ``chmod`` does not stop writes, so the read-only directory is ``/sys`` (sysfs
    refuses to create files even for root: EACCES); otherwise a directory chmod 0o500."""
    if os.geteuid() == 0:
        out = Path(f"/sys/fastcrew-test-{os.getpid()}.jsonl")
    else:
        locked = tmp_path / "read-only"
        locked.mkdir()
        locked.chmod(0o500)
        out = locked / "out.jsonl"
    done = subprocess.run(cmd(inputs, out, _NO_SIM), capture_output=True, timeout=60)
    err = done.stderr.decode()
    assert done.returncode == 74, err
    assert "cannot create the lock file" in err
    assert "EACCES" in err
    assert "Traceback" not in err
    assert not out.exists()


class _NoSim:
    """No simulator is needed: these runs stop before any row is dispatched."""

    base_url = "http://127.0.0.1:9/v1"


_NO_SIM: Any = _NoSim()
