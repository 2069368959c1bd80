"""Batch rows in several processes: per-row scopes keep rows apart; a ``shared`` memory
takes every process's saves (the vector table's file lock)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from fastcrew.memory import Memory
from fastcrew.sim import Simulator

from .conftest import embedder, llm

SCRIPT = """
import asyncio, sys
from fastcrew.memory import Memory
from fastcrew.memory.crews import row_view
from fastcrew.memory.scopes import batch_row

url, row, shared = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
spec = {"provider": "openai", "config": {"api_key": "k", "api_base": url, "dimensions": 256}}

async def main():
    mem = Memory(llm="openai/x", embedder=spec, root_scope="/crew/c", shared=shared)
    with batch_row(row):
        view = row_view(mem)
        facts = [f"Row {row} fact number {i} about harbour tides." for i in range(20)]
        await view.aremember_many(facts, scope="/", categories=["tides"], importance=0.5)

asyncio.run(main())
"""


async def _rows(sim: Simulator, shared: bool) -> None:
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", SCRIPT, sim.base_url, str(row), "1" if shared else "0"
        )
        for row in range(3)
    ]
    codes = await asyncio.gather(*(p.wait() for p in procs))
    assert codes == [0, 0, 0]


async def test_rows_in_processes(storage: Path, sim: Simulator) -> None:
    mem = Memory(llm=llm(sim), embedder=embedder(sim), root_scope="/crew/c")
    await _rows(sim, shared=False)
    assert await mem.table.acount() == 60  # every process's saves, none lost
    for row in range(3):
        found = await mem.scope(f"/row/{row}").arecall("harbour tides fact", limit=40)
        assert len(found) == 20
        assert all(m.record.content.startswith(f"Row {row} ") for m in found)
    await mem.areset()
    await _rows(sim, shared=True)  # shared: all in the crew's own scope
    found = await mem.arecall("harbour tides fact", limit=100)
    assert len(found) == 60
    assert {m.record.scope for m in found} == {"/crew/c"}
