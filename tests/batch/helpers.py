"""Helpers for the batch tests: inputs, reading results, the CLI as a real subprocess."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CREWS = str(Path(__file__).with_name("crews.py"))
CREW = f"{CREWS}:make_crew"


def write_inputs(path: Path, n: int, *, start: int = 0, gz: bool = False) -> Path:
    """``n`` rows ``{"id": "r<i>", "topic": "topic-<i>"}``."""
    data = "".join(
        json.dumps({"id": f"r{i}", "topic": f"topic-{i}"}) + "\n" for i in range(start, start + n)
    ).encode()
    if gz:
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Every output row, parsed."""
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def deterministic(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows without their timing fields (``elapsed_s``; ``created`` of OpenAI bodies)."""
    out = []
    for row in rows:
        row = dict(row)
        row.pop("elapsed_s", None)
        body = (row.get("response") or {}).get("body")
        if isinstance(body, dict):
            row["response"] = {**row["response"], "body": {**body, "created": 0}}
        out.append(row)
    return out


def assert_exactly_once_in_order(rows: list[dict[str, Any]], n: int) -> None:
    """One row per input, in order, each answering its own input (the simulator echoes)."""
    assert [row["index"] for row in rows] == list(range(n))
    for row in rows:
        i = row["index"]
        assert row["id"] == f"r{i}"
        assert row["status"] == "ok", row
        assert f"Tell me about topic-{i} " in row["output"]["raw"] + " "


def batch_cmd(
    inputs: Path | str,
    output: Path,
    base_url: str,
    *extra: str,
    option: str = "--crew",
    spec: str = CREW,
) -> list[str]:
    """``python -m fastcrew batch ...`` on a crew (or ``option="--flow"``), 2 workers, quiet."""
    return [
        sys.executable,
        "-m",
        "fastcrew",
        "batch",
        str(inputs),
        option,
        spec,
        "-o",
        str(output),
        "--workers",
        "2",
        "--base-url",
        base_url,
        "--no-progress",
        *extra,
    ]


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(x) for x in text]
    return found


def worker_pids(supervisor: int) -> list[int]:
    """The batch workers among a supervisor's children."""
    pids = []
    for child in children(supervisor):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"fastcrew.batch.worker" in cmdline:
            pids.append(child)
    return pids


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return b""


def simulator_pids(supervisor: int) -> list[int]:
    """The built-in simulator among a supervisor's children (``--simulate``): started
    through the ``fastcrew/_child.py`` launcher, which then ``exec`` s
    ``python -m fastcrew.sim.spawned`` in the same process."""
    marks = (b"fastcrew.sim.spawned", b"_child.py", b"\0sim\0")
    return [pid for pid in children(supervisor) if any(m in _cmdline(pid) for m in marks)]


def running(pid: int) -> bool:
    """Whether ``pid`` is alive (a zombie waiting for its reaper counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return "\nState:\tZ" not in status


def journal_rows(output: Path) -> int:
    """Finished rows recorded in the journal beside ``output``."""
    path = Path(str(output) + ".journal")
    if not path.exists():
        return 0
    return sum(1 for line in path.read_bytes().splitlines() if line.startswith(b'{"i":'))


def wait_for(predicate: Any, timeout: float = 30.0, what: str = "condition") -> None:
    """Poll ``predicate`` (a progress counter, not a timing guess) until true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def kill(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to a process (ignored if it is gone)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, sig)
