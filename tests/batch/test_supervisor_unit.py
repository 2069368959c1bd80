"""The supervisor's bookkeeping, driven event by event through a fake pool: no processes.

The real :class:`Supervisor`, :class:`Dispatcher`, journal and output files (in ``tmp_path``,
planned by :func:`make_plan` as ``run_batch`` does); only the workers are scripted
(:mod:`tests.batch.fake_pool`), so every interleaving — rows finishing out of order, a worker
dying with started rows, failing to start, running out of quota, a drain — is reached
exactly, on the stdlib loop, without sleeps.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fastcrew.batch.config import BatchConfig
from fastcrew.batch.signals import StopSignals
from fastcrew.batch.storage.inputs import LineReader, input_identity, open_input
from fastcrew.batch.storage.journal import scan
from fastcrew.batch.storage.plan import Plan, make_plan
from fastcrew.batch.supervisor.supervisor import Supervisor
from fastcrew.batch.wire.messages import Grant, Pause, Want
from fastcrew.errors import ConfigurationError, LLMConfigurationError

from .fake_pool import FakePool
from .helpers import write_inputs

RUN_S = 5.0
"""Bound on any wait of these tests (each finishes in milliseconds)."""
SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") else None
"""Where the property tests' many runs keep their files: real files, on tmpfs when there is
one (the journal's and output's fsyncs cost nothing there)."""


def drive(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a test's coroutine on a fresh stdlib event loop."""
    with asyncio.Runner(loop_factory=asyncio.SelectorEventLoop) as runner:
        runner.run(main())


async def until(condition: Callable[[], bool], what: str, rounds: int = 200) -> None:
    """Let the loop run (yields, no timed sleeps) until ``condition`` holds."""
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never happened: {what}")


class Run:
    """One batch run over ``n`` input rows: real plan and files, a :class:`FakePool`."""

    def __init__(
        self,
        tmp_path: Path,
        n: int,
        *,
        workers: int = 2,
        max_restarts: int = 3,
        signals: StopSignals | None = None,
        **options: Any,
    ) -> None:
        inputs = tmp_path / "in.jsonl"
        if not inputs.exists():
            write_inputs(inputs, n)
        self.n = n
        self.output = tmp_path / "out.jsonl"
        self.config = BatchConfig(
            inputs=str(inputs),
            output=str(self.output),
            workers=workers,
            max_restarts=max_restarts,
            quiet=True,
            **options,
        )
        self.plan: Plan = make_plan(self.config, input_identity(self.config.inputs))
        self.pool = FakePool(workers, max_restarts=max_restarts)
        self.logs: list[str] = []
        assert self.plan.writer is not None
        assert self.plan.journal is not None
        self.sup = Supervisor(
            self.config,
            pool=self.pool,
            signals=signals or StopSignals(),
            reader=LineReader(open_input(self.config.inputs)),
            writer=self.plan.writer,
            journal=self.plan.journal,
            skip=self.plan.skip,
            attempts=self.plan.attempts,
            verify=self.plan.verify,
            log=self.logs.append,
            output_path=self.config.output,
        )
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> FakePool:
        """Start the supervisor; returns once it started the pool (the input is read)."""
        self.task = asyncio.create_task(self.sup.run())
        async with asyncio.timeout(RUN_S):
            await self.pool.running.wait()
        return self.pool

    async def end(self) -> None:
        """Wait for the run to end, then close the files as ``run_batch`` does."""
        assert self.task is not None
        try:
            async with asyncio.timeout(RUN_S):
                await self.task
        finally:
            self.sup.reader.close()
            self.plan.finish(self.sup.complete)
        assert self.pool.violations == []

    def rows(self) -> list[dict[str, Any]]:
        """The output's rows."""
        return [json.loads(line) for line in self.output.read_bytes().splitlines()]

    def journaled(self) -> list[int]:
        """Indices the journal holds a record for (checked: none twice)."""
        state = scan(self.config.journal_path)
        assert state.duplicates == 0
        return [i for i in range(len(state.status)) if state.has(i)]


def assert_each_row_once_in_order(rows: list[dict[str, Any]], n: int) -> None:
    """One output row per input row, in input order, each answering its own input."""
    assert [row["index"] for row in rows] == list(range(n))
    assert [row["input"]["id"] for row in rows] == [f"r{i}" for i in range(n)]


def held(pool: FakePool, slot: int) -> list[int]:
    return list(pool.workers[slot].held)


# -- ordering --------------------------------------------------------------------------


def test_rows_finishing_out_of_order_are_written_in_input_order_once_each(tmp_path: Path):
    run = Run(tmp_path, 10, chunk_size=5)

    async def main() -> None:
        pool = await run.start()
        pool.up(0, room=5)
        pool.up(1, room=5)
        assert (held(pool, 0), held(pool, 1)) == ([0, 1, 2, 3, 4], [5, 6, 7, 8, 9])
        pool.start(0)
        pool.start(1)
        pool.finish(1, [9, 5, 7])
        pool.finish(0, [4, 2])
        assert run.output.read_bytes() == b""  # row 0 is not back: nothing can be written
        assert sorted(run.journaled()) == [2, 4, 5, 7, 9]  # but the journal has them all
        pool.finish(0, [0])
        assert [r["index"] for r in run.rows()] == [0]
        pool.finish(1, [8, 6])
        pool.finish(0, [3, 1])
        await run.end()

    drive(main)
    assert run.sup.complete
    assert run.sup.stop_reason is None
    assert_each_row_once_in_order(run.rows(), 10)
    assert run.sup.counters.rows_ok == 10
    assert run.sup.writer.peak == 9  # rows 1..9 were all back before row 1
    assert run.pool.commands == ["close"]


# -- deaths ----------------------------------------------------------------------------


def test_a_dead_workers_started_rows_go_to_another_worker_re_paid_and_its_queued_rows_free(
    tmp_path: Path,
):
    run = Run(tmp_path, 12, chunk_size=6)

    async def main() -> None:
        pool = await run.start()
        pool.up(0, room=6)
        assert held(pool, 0) == [0, 1, 2, 3, 4, 5]
        pool.start(0, [0, 1, 2])  # 3, 4, 5 are still queued in the worker
        pool.finish(0, [1])
        exited = pool.die(0)
        assert exited.replaced  # the slot gets a fresh worker (max_restarts 3)
        assert (run.sup.dispatcher.repaid, run.sup.dispatcher.redispatched) == (2, 5)
        assert run.sup.counters.worker_deaths == 1
        assert "2 had started: re-paid" in run.logs[-1]
        pool.up(1, room=6)
        again = pool.workers[1].chunks[0]
        assert [t.index for t in again] == [0, 2, 3, 4, 5, 6]  # re-queued rows go out first
        assert not any(t.started for t in again)
        # Attempts count batch runs of a row (docs/output.md), not re-dispatches in one run.
        assert [t.attempts for t in again] == [1] * 6
        pool.finish(1, room=6)
        pool.up(0, room=6)  # the replacement
        pool.finish(1)
        pool.finish(0)
        await run.end()

    drive(main)
    assert run.sup.complete
    rows = run.rows()
    assert_each_row_once_in_order(rows, 12)
    assert [r["slot"] for r in rows[:7]] == [1, 0, 1, 1, 1, 1, 1]  # row 1 finished before
    summary = (run.sup.dispatcher.repaid, run.sup.dispatcher.redispatched)
    assert summary == (2, 5)  # nothing counted twice at the close


def test_a_worker_killed_as_silent_is_a_death_and_a_worker_that_keeps_dying_stops_the_run(
    tmp_path: Path,
):
    run = Run(tmp_path, 8, workers=2, max_restarts=1, chunk_size=4)

    async def main() -> None:
        pool = await run.start()
        pool.up(0, room=4)
        pool.up(1, room=4)
        pool.start(1)
        pool.hang(1)  # silent: the liveness check kills it; its rows go to worker 0
        assert "did not answer for 31 s" in run.logs[-2]
        assert run.sup.dispatcher.repaid == 4
        pool.finish(0, room=4)
        assert held(pool, 0) == [4, 5, 6, 7]
        pool.up(1, room=4)  # the replacement (restart 1 of 1)
        pool.start(0)
        pool.die(0)  # slot 0's first death: replaced; its rows go to worker 1
        assert held(pool, 1) == [4, 5, 6, 7]
        pool.start(1)
        assert pool.die(1).gave_up  # slot 1's second: its restart is spent
        await run.end()

    drive(main)
    assert run.sup.stop_reason == "workers_failed"
    assert "worker 1 died 2 times" in (run.sup.stop_message or "")
    assert not run.sup.complete
    assert run.journaled() == [0, 1, 2, 3]  # rows 4..7 run again on resume
    assert [r["index"] for r in run.rows()] == [0, 1, 2, 3]
    assert run.sup.counters.worker_deaths == 3
    assert run.pool.commands[:2] == ["stop_replacing", "drain"]


# -- start-up --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "raised"),
    [("ImportError", ConfigurationError), ("LLMConfigurationError", LLMConfigurationError)],
)
def test_a_worker_failing_to_start_before_any_is_up_stops_the_run_with_its_error(
    tmp_path: Path, error: str, raised: type[Exception]
):
    run = Run(tmp_path, 4)

    async def main() -> None:
        pool = await run.start()
        pool.fail_to_start(0, error, "worker 0 did not start: the crew does not load")
        with pytest.raises(raised, match="the crew does not load") as caught:
            await run.end()
        assert type(caught.value) is raised

    drive(main)
    assert run.sup.dispatcher.dispatched == 0
    assert run.pool.workers[1].chunks == []


def test_a_worker_failing_to_start_after_another_is_up_is_replaced_and_the_run_goes_on(
    tmp_path: Path,
):
    run = Run(tmp_path, 8, chunk_size=4)

    async def main() -> None:
        pool = await run.start()
        pool.up(0, room=4)
        pool.fail_to_start(1, "OSError", "worker 1 did not start: out of memory")
        assert run.sup.stop_reason is None
        assert "worker 1 failed to start: OSError" in run.logs[0]
        pool.finish(0, room=4)
        pool.finish(0, room=4)
        await run.end()

    drive(main)
    assert run.sup.complete
    assert_each_row_once_in_order(run.rows(), 8)
    assert {r["slot"] for r in run.rows()} == {0}


def test_a_worker_failing_to_start_with_no_restarts_left_leaves_the_run_to_the_others(
    tmp_path: Path,
):
    """A start failure after a worker is up is logged and the run goes on with fewer workers:
    the slot's exit (``gave_up``, no restarts left) is not a death that stops the run, since
    the slot never ran a row and worker 0 is healthy (it stopped the run before the fix)."""
    run = Run(tmp_path, 8, chunk_size=4, max_restarts=0)

    async def main() -> None:
        pool = await run.start()
        pool.up(0, room=4)
        pool.fail_to_start(1, "OSError", "worker 1 did not start: out of memory")
        pool.finish(0, room=4)
        if pool.workers[0].held:  # rows 4..7, unless the run stopped
            pool.finish(0)
        await run.end()

    drive(main)
    assert run.sup.stop_reason is None, (
        "a worker that failed to start after another was up, with no restarts left, "
        f"stopped the run: {run.sup.stop_reason}: {run.sup.stop_message}"
    )
    assert run.sup.counters.worker_deaths == 0
    assert_each_row_once_in_order(run.rows(), 8)


# -- stops -----------------------------------------------------------------------------


def test_quota_exhausted_stops_and_leaves_the_unfinished_rows_to_a_resume(tmp_path: Path):
    run = Run(tmp_path, 10, chunk_size=3)

    async def main() -> None:
        pool = await run.start()
        pool.up(0, room=3)
        pool.up(1, room=3)
        pool.start(0)
        pool.start(1, [3])
        pool.finish(0, [0, 2])
        pool.quota(1)  # row 3 got insufficient_quota
        assert run.sup.stop_reason == "quota_exhausted"
        assert pool.commands == ["stop_replacing", "drain"]
        pool.finish(0, [1])  # a running row still finishes
        pool.give_back(1, [3, 4, 5])  # the quota row and the queued ones come back
        await run.end()

    drive(main)
    assert run.sup.stop_message == "insufficient_quota: you exceeded your quota"
    assert not run.sup.complete
    assert run.journaled() == [0, 1, 2]
    assert [r["index"] for r in run.rows()] == [0, 1, 2]
    assert run.sup.dispatcher.redispatched == 0  # stopping: nothing goes out again

    resume = Run(tmp_path, 10, chunk_size=10)  # the same command again
    assert resume.plan.kind == "continue"

    async def again() -> None:
        pool = await resume.start()
        pool.up(0, room=10)
        assert held(pool, 0) == [3, 4, 5, 6, 7, 8, 9]  # exactly the rows not journaled
        pool.finish(0)
        await resume.end()

    drive(again)
    assert resume.sup.complete
    assert_each_row_once_in_order(resume.rows(), 10)


def test_a_stop_signal_lets_running_rows_finish_and_takes_queued_ones_back(tmp_path: Path):
    with StopSignals() as signals:
        run = Run(tmp_path, 20, chunk_size=4, signals=signals)

        async def main() -> None:
            pool = await run.start()
            pool.up(0, room=4)
            pool.up(1, room=4)
            pool.start(0, [0, 1])
            pool.start(1, [4])
            os.kill(os.getpid(), signal.SIGINT)
            await until(lambda: run.sup.stop_reason is not None, "the signal reached it")
            assert run.sup.stop_reason == "interrupted"
            assert pool.commands == ["stop_replacing", "drain"]
            pool.offer(1, 4)  # a late offer gets nothing
            assert pool.give_back(0) == [2, 3]
            assert pool.give_back(1) == [5, 6, 7]
            assert run.sup.rows_in_flight() == 3
            pool.finish(1)
            assert run.task is not None
            assert not run.task.done()
            pool.finish(0)  # the last running row: the run ends
            await run.end()

        drive(main)
    assert signals.count == 1
    assert "SIGINT: finishing the rows in flight" in run.logs[0]
    assert run.journaled() == [0, 1, 4]
    assert [r["index"] for r in run.rows()] == [0, 1]
    assert run.sup.dispatcher.dispatched == 8
    assert [len(c) for w in run.pool.retired for c in w.chunks] == [4, 4]


def test_a_second_signal_stops_at_once_and_keeps_what_was_recorded(tmp_path: Path):
    with StopSignals() as signals:
        run = Run(tmp_path, 8, chunk_size=4, signals=signals)

        async def main() -> None:
            pool = await run.start()
            pool.up(0, room=4)
            pool.start(0)
            pool.finish(0, [0, 2])
            os.kill(os.getpid(), signal.SIGTERM)
            await until(lambda: run.sup.stop_reason is not None, "the first signal")
            os.kill(os.getpid(), signal.SIGINT)  # rows 1 and 3 are still running
            await until(lambda: "kill_all" in pool.commands, "the second signal")
            await run.end()

        drive(main)
    assert "SIGINT again: stopping now" in run.logs[-1]
    assert run.sup.stop_reason == "interrupted"
    assert run.journaled() == [0, 2]
    assert [r["index"] for r in run.rows()] == [0]
    assert run.pool.commands == ["stop_replacing", "drain", "kill_all", "close"]


def test_a_signal_before_any_worker_is_up_ends_the_run_with_nothing_dispatched(tmp_path: Path):
    with StopSignals() as signals:
        os.kill(os.getpid(), signal.SIGINT)  # kept, and handed over when the loop starts
        run = Run(tmp_path, 8, signals=signals)

        async def main() -> None:
            run.task = asyncio.create_task(run.sup.run())
            await run.end()

        drive(main)
    assert run.sup.stop_reason == "interrupted"
    assert not run.pool.running.is_set()  # no worker was started at all
    assert run.sup.dispatcher.dispatched == 0
    assert run.journaled() == []


def test_a_worker_silent_during_a_drain_is_given_up_on_at_the_drain_deadline(tmp_path: Path):
    run = Run(tmp_path, 8, chunk_size=4, drain_timeout=0.05)

    async def main() -> None:
        pool = await run.start()
        pool.up(0, room=4)
        pool.up(1, room=4)
        pool.start(0)
        pool.start(1)
        pool.finish(1, [4])
        pool.quota(1)
        pool.finish(0)  # worker 0 finishes its rows; worker 1 says nothing more
        await run.end()  # the drain deadline (0.05 s) ends the run

    drive(main)
    assert run.sup.stop_reason == "quota_exhausted"
    assert "rows still running after the drain timeout" in run.logs[-1]
    assert run.pool.commands == ["stop_replacing", "drain", "kill_all", "close"]
    assert run.journaled() == [0, 1, 2, 3, 4]
    assert [r["index"] for r in run.rows()] == [0, 1, 2, 3, 4]


# -- dispatch --------------------------------------------------------------------------


def test_the_dispatcher_never_gives_a_worker_more_than_it_offered(tmp_path: Path):
    run = Run(tmp_path, 40, workers=3, chunk_size=8, window=12)

    async def main() -> None:
        pool = await run.start()
        pool.up(0, room=3)
        pool.up(1, room=20)  # more than a chunk: gets a chunk
        pool.up(2, room=0)  # no room: gets nothing
        assert [len(c) for c in pool.workers[0].chunks] == [3]
        assert [len(c) for c in pool.workers[1].chunks] == [8]
        assert pool.workers[2].chunks == []
        pool.offer(2, 5)  # 11 rows out of a window of 12: only one more
        assert [len(c) for c in pool.workers[2].chunks] == [1]
        pool.offer(0, 2)  # the window is full: the offer waits
        pool.offer(0, 1)  # and the latest offer counts
        pool.finish(0, [0, 1, 2])  # the window moves by 3: the waiting offer gets 1
        assert [len(c) for c in pool.workers[0].chunks] == [3, 1]
        step = 0
        while not pool.closing and step < 200:
            step += 1
            for slot, worker in enumerate(pool.workers):
                if worker.held:
                    pool.finish(slot, list(worker.held)[::-1], room=1 + step % 4)
            await asyncio.sleep(0)
        await run.end()

    drive(main)
    assert run.sup.complete
    assert_each_row_once_in_order(run.rows(), 40)
    for worker in run.pool.workers:
        assert all(len(chunk) <= 8 for chunk in worker.chunks)
    assert run.sup.writer.peak < 12


def test_budget_messages_are_answered_through_the_pool(tmp_path: Path):
    run = Run(tmp_path, 2, rpm=60)

    async def main() -> None:
        pool = await run.start()
        pool.up(0)
        pool.up(1)
        pool.budget(0, Want(7, "endpoint", 100, 0, ("auto",) * 4 + (1.0,), 0, 0, 0))
        assert pool.workers[0].messages == [Grant(7, "endpoint", 1, 100, 0)]
        pool.budget(0, Pause("endpoint", "requests", 2.0))  # a 429 seen by worker 0
        assert pool.workers[1].messages == [Pause("endpoint", "requests", 2.0)]
        pool.stats(0, {"calls": 3, "rate_limited": 1})
        assert run.sup.counters.worker_total("rate_limited") == 1
        pool.offer(0, 2)
        pool.finish(0)
        await run.end()

    drive(main)
    assert run.sup.complete
    assert run.sup.budgets is not None
    assert run.sup.budgets.pauses == 1


# -- property: any interleaving --------------------------------------------------------

ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["offer", "start", "start", "finish", "return", "die", "die"]),
        st.integers(0, 2),  # slot
        st.integers(0, 7),  # how many / which rows
    ),
    max_size=40,
)
SHAPES = {
    "n": st.integers(1, 30),
    "workers": st.integers(1, 3),
    "chunk_size": st.integers(1, 5),
    "window": st.integers(1, 12),
    "actions": ACTIONS,
}


async def play(run: Run, actions: list[tuple[str, int, int]], *, stop_at: int = -1) -> int:
    """Bring every worker up, then play ``actions`` (a quota stop at step ``stop_at``);
    returns how many started rows died with their worker."""
    pool = await run.start()
    size = pool.size
    chunk = run.config.chunk_size
    lost_started = 0
    for slot in range(size):
        pool.up(slot, room=chunk)
    for step, (kind, slot, k) in enumerate(actions):
        if pool.closing:
            break
        worker = pool.workers[slot % size]
        if worker.exited:  # died while the run stops: not replaced
            continue
        if step == stop_at and worker.up and run.sup.stop_reason is None:
            pool.quota(worker.slot)
        elif not worker.up:
            pool.up(worker.slot, room=1 + k)
        elif kind == "offer":
            pool.offer(worker.slot, 1 + k)
        elif kind == "start":
            pool.start(worker.slot, worker.unstarted()[:k])
        elif kind == "die":
            lost_started += len(worker.started)
            pool.die(worker.slot)
        else:
            rows = list(worker.held)
            pick = [rows[i] for i in range(len(rows)) if (i + k) % 3 == 0][::-1]
            if kind == "finish":
                pool.finish(worker.slot, pick)
            else:
                pool.give_back(worker.slot, [i for i in pick if i not in worker.started])
        await asyncio.sleep(0)
    if stop_at >= 0 and run.sup.stop_reason is None and not pool.closing:
        worker = pool.workers[0]  # not stopping yet: a dead worker was replaced
        if not worker.up:
            pool.up(0)
        pool.quota(0)  # the script ended first: stop now
    return lost_started


async def settle(run: Run) -> None:
    """Every worker finishes what it holds and asks for more until the run ends; while
    the run stops, a worker finishes its started rows and gives the others back."""
    pool = run.pool
    chunk = run.config.chunk_size
    for step in range(10 * run.n + 50):
        if pool.closing:
            break
        for slot, worker in enumerate(pool.workers):
            if worker.exited:
                continue
            if not worker.up:
                pool.up(slot, room=chunk)
            elif pool.drained:
                pool.finish(slot, [i for i in worker.held if i in worker.started])
                pool.give_back(slot)
            elif worker.held:
                pool.finish(slot, list(worker.held)[::-1], room=1 + step % chunk)
            else:
                pool.offer(slot, chunk)
        await asyncio.sleep(0)


def new_run(tmp: str, n: int, workers: int, chunk_size: int, window: int) -> Run:
    """A run whose every dead worker is replaced (so it can always finish)."""
    return Run(
        Path(tmp), n, workers=workers, chunk_size=chunk_size, window=window, max_restarts=10**6
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**SHAPES)
def test_any_interleaving_writes_each_row_once_in_order(
    n: int, workers: int, chunk_size: int, window: int, actions: list[tuple[str, int, int]]
):
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        run = new_run(tmp, n, workers, chunk_size, window)
        lost_started = 0

        async def main() -> None:
            nonlocal lost_started
            lost_started = await play(run, actions)
            await settle(run)
            assert run.journaled() == list(range(n))  # before the journal is compacted
            await run.end()

        drive(main)
        dispatcher = run.sup.dispatcher
        event(f"re-paid rows: {'some' if dispatcher.repaid else 'none'}")
        event(f"reorder buffer peak > 1: {run.sup.writer.peak > 1}")
        assert run.sup.complete, (run.sup.stop_reason, run.sup.stop_message)
        assert_each_row_once_in_order(run.rows(), n)
        assert run.sup.counters.rows_ok == n
        assert dispatcher.repaid == lost_started


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stop_at=st.integers(0, 15), **SHAPES)
def test_any_interleaving_stopped_then_resumed_writes_each_row_once_in_order(
    n: int,
    workers: int,
    chunk_size: int,
    window: int,
    actions: list[tuple[str, int, int]],
    stop_at: int,
):
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        first = new_run(tmp, n, workers, chunk_size, window)
        done: list[int] = []

        async def stopped() -> None:
            await play(first, actions, stop_at=stop_at)
            await settle(first)
            done.extend(first.journaled())  # before a complete run compacts its journal
            await first.end()

        drive(stopped)
        written = [r["index"] for r in first.rows()]
        assert written == list(range(len(written)))  # a prefix, in order
        assert set(written) <= set(done)
        event(f"stopped: {first.sup.stop_reason is not None}")
        if first.sup.complete:
            assert written == done == list(range(n))
            return
        resume = new_run(tmp, n, workers, chunk_size, window)

        async def resumed() -> None:
            await resume.start()
            await settle(resume)
            assert resume.journaled() == list(range(n))  # no row recorded twice
            await resume.end()

        drive(resumed)
        assert resume.sup.complete, (resume.sup.stop_reason, resume.sup.stop_message)
        assert_each_row_once_in_order(resume.rows(), n)
        assert resume.sup.counters.rows_ok == n - len(done)
