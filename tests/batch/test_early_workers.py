"""Local workers start before the run is planned, so their imports overlap the supervisor's
start-up (the input's hash, the plan, the journal); workers no slot takes are killed and
reaped. Real processes throughout."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import fastcrew.batch.api as batch_api
from fastcrew import run_batch
from fastcrew.batch.supervisor.worker_process import EarlyWorkers
from fastcrew.sim import SpawnedSim, spawn

from .helpers import CREW, assert_exactly_once_in_order, read_rows, write_inputs


def children(sim: SpawnedSim) -> set[int]:
    """This process's child processes (zombies included), but the simulator."""
    found = set()
    for task in Path("/proc/self/task").iterdir():
        found.update(int(pid) for pid in (task / "children").read_text().split())
    return found - {sim.process.pid}


@pytest.fixture(scope="module")
def sim() -> SpawnedSim:
    with spawn(seed=4) as server:
        yield server


def test_workers_are_running_while_the_input_is_hashed(
    tmp_path: Path, sim: SpawnedSim, monkeypatch: pytest.MonkeyPatch
):
    seen: list[set[int]] = []
    hash_input = batch_api.input_identity

    def spy(path: str):  # records, then does the real work
        seen.append(children(sim))
        return hash_input(path)

    monkeypatch.setattr(batch_api, "input_identity", spy)
    inputs = write_inputs(tmp_path / "in.jsonl", 40)
    out = tmp_path / "out.jsonl"
    result = run_batch(inputs, crew=CREW, output=out, base_url=sim.base_url, workers=2, quiet=True)
    assert (result.exit_code, result.rows_ok) == (0, 40)
    assert_exactly_once_in_order(read_rows(out), 40)
    assert len(seen) == 1
    assert len(seen[0]) == 2  # both workers started before the input was read
    assert children(sim) == set()  # and were reaped


def test_early_workers_of_a_run_with_nothing_to_do_are_killed_and_reaped(
    tmp_path: Path, sim: SpawnedSim
):
    inputs = write_inputs(tmp_path / "in.jsonl", 5)
    out = tmp_path / "out.jsonl"
    first = run_batch(inputs, crew=CREW, output=out, base_url=sim.base_url, workers=2, quiet=True)
    assert first.exit_code == 0
    again = run_batch(inputs, crew=CREW, output=out, base_url=sim.base_url, workers=2, quiet=True)
    assert (again.status, again.exit_code) == ("complete", 0)
    assert children(sim) == set()


async def test_each_slot_takes_its_early_worker_once_then_gets_fresh_ones(sim: SpawnedSim):
    early = EarlyWorkers(2)
    try:
        waiting = children(sim)
        assert len(waiting) == 2
        first, sock = await early(0)
        sock.close()
        assert first.pid in waiting
        again, sock2 = await early(0)  # a restart of slot 0: a new process
        sock2.close()
        assert again.pid not in waiting
        for process in (first, again):  # their sockets closed: they exit by themselves
            await asyncio.to_thread(process.wait, 30)
    finally:
        early.close()  # slot 1's never-taken worker: killed and reaped
    assert children(sim) == set()
