"""Several real processes adding to one table at once, disjoint and overlapping ids: every
record is there exactly once, and the adds reported sum to the records present."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from fastcrew.vectors import VectorStore

CHILD = str(Path(__file__).with_name("add_child.py"))


async def run_child(folder: Path, first: int, last: int, batch: int) -> int:
    child = await asyncio.create_subprocess_exec(
        sys.executable, CHILD, str(folder), str(first), str(last), str(batch),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(child.communicate(), timeout=100)
    assert child.returncode == 0, err.decode()
    return int(json.loads(out)["added"])


async def test_concurrent_adds_from_processes_keep_each_id_once(tmp_path: Path) -> None:
    # 0-599 and 400-999 overlap on 400-599; 1000-1399 is disjoint; the last repeats 0-299.
    added = await asyncio.gather(
        run_child(tmp_path, 0, 600, 40),
        run_child(tmp_path, 400, 1000, 25),
        run_child(tmp_path, 1000, 1400, 50),
        run_child(tmp_path, 0, 300, 30),
    )
    assert sum(added) == 1400
    assert added[2] == 400  # nobody else had those ids
    table = VectorStore("shared", path=tmp_path, index_threshold=None).table("memories")
    assert await table.acount() == 1400  # no id twice
    wanted = [f"id-{i:05d}" for i in range(1400)]
    assert await table.aids_present(wanted) == set(wanted)
    for i in (0, 450, 999, 1399):
        assert await table.acount(where=f"id = 'id-{i:05d}'") == 1
    # and a resumed batch adds nothing again
    assert await run_child(tmp_path, 0, 1400, 200) == 0
    await table.arefresh()
    assert await table.acount() == 1400
