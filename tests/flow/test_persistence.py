"""Flow persistence: ``@persist`` on the class and on methods, restoring with
``kickoff(inputs={"id": ...})``, continuing an interrupted kickoff (in process after a
failure, and in a real process killed with SIGKILL), concurrent flows on one store, stores
written for CrewAI's interface, and the errors."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from fastcrew import FlowPersistenceError
from fastcrew.errors import ConfigurationError
from fastcrew.flow import (
    Flow,
    FlowLimitError,
    SQLiteFlowPersistence,
    and_,
    arun_flow,
    listen,
    persist,
    router,
    start,
)
from fastcrew.flow.persistence import FlowPersistence
from fastcrew.sim import SpawnedSim, spawn

CHILD = str(Path(__file__).with_name("persist_child.py"))


class Count(BaseModel):
    counter: int = 0
    log: list[str] = []


class Memory(FlowPersistence):
    """A store written against CrewAI's three methods only (as users write their own)."""

    def __init__(self) -> None:
        self.states: dict[str, dict[str, Any]] = {}
        self.saves: list[tuple[str, str]] = []

    def init_db(self) -> None:
        pass

    def save_state(self, flow_uuid: str, method_name: str, state_data: Any) -> None:
        self.saves.append((flow_uuid, method_name))
        self.states[flow_uuid] = dict(state_data)

    def load_state(self, flow_uuid: str) -> dict[str, Any] | None:
        return self.states.get(flow_uuid)


def rows(db: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT flow_uuid, method_name, finished FROM fastcrew_flow_states ORDER BY 1"
        ).fetchall()


# -- @persist on the class and on methods ------------------------------------------------------


async def test_class_level_persist_saves_after_every_method_and_restores_by_id(tmp_path: Path):
    store = Memory()

    @persist(store)
    class Counter(Flow[Count]):
        @start()
        async def begin(self) -> None:
            self.state.counter += 1
            self.state.log.append("begin")

        @listen(begin)
        def middle(self) -> None:  # sync: runs in a thread, saved all the same
            self.state.log.append("middle")

        @listen(middle)
        async def end(self) -> int:
            self.state.log.append("end")
            return self.state.counter

    first = Counter()
    assert await first.akickoff() == 1
    flow_id = first.state.id
    assert store.saves == [(flow_id, "begin"), (flow_id, "middle"), (flow_id, "end")]
    # A new instance, the id as input: the finished state is restored and the flow runs
    # again from its start (CrewAI's counter example).
    again = Counter()
    assert await again.akickoff(inputs={"id": flow_id}) == 2
    assert again.state.log == ["begin", "middle", "end"] * 2
    assert isinstance(again.state, Count)
    assert again.state.id == flow_id
    # An unknown id starts fresh under that id.
    other = Counter()
    assert await other.akickoff(inputs={"id": "someone-else"}) == 1
    assert store.states["someone-else"]["counter"] == 1


async def test_method_level_persist_saves_after_that_method_and_when_the_kickoff_ends(
    tmp_path: Path,
):
    db = tmp_path / "flows.db"

    class Partial(Flow):
        @start()
        def fetch(self) -> str:
            self.state["fetched"] = True
            return "data"

        @listen(fetch)
        @persist(SQLiteFlowPersistence(db))
        async def parse(self, data: str) -> str:
            self.state["parsed"] = data.upper()
            return self.state["parsed"]

        @persist()  # no store named: the flow's one store (the one named above)
        @listen(parse)
        async def publish(self, parsed: str) -> str:
            return f"published {parsed}"

        @listen(publish)
        async def tidy(self) -> str:
            return "tidy"

    flow = Partial()
    assert await flow.akickoff(inputs={"id": "p1"}) == "tidy"
    assert rows(db) == [("p1", "tidy", 1)]
    restored = Partial()
    await restored.akickoff(inputs={"id": "p1", "extra": 5})  # other inputs go over it
    assert restored.state == {"id": "p1", "fetched": True, "parsed": "DATA", "extra": 5}


async def test_method_level_saves_land_only_after_marked_methods():
    store = Memory()

    class Marked(Flow):
        @start()
        async def a(self) -> None:
            pass

        @listen(a)
        @persist(store)
        async def b(self) -> None:
            pass

        @listen(b)
        async def c(self) -> None:
            pass

        @listen(c)
        async def d(self) -> None:
            pass

    flow = Marked()
    await flow.akickoff()
    assert store.saves == [(flow.flow_id, "b"), (flow.flow_id, "d")]  # d: the final save


async def test_bare_persist_and_the_default_store_is_created_on_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("FASTCREW_STORAGE_DIR", str(tmp_path / "storage"))

    @persist
    class Bare(Flow):
        @start()
        async def only(self) -> str:
            self.state["seen"] = self.state.get("seen", 0) + 1
            return "done"

    assert not (tmp_path / "storage").exists()  # decorating creates no file
    await Bare().akickoff(inputs={"id": "b1"})
    db = tmp_path / "storage" / "flow_states.db"
    assert rows(db) == [("b1", "only", 1)]
    again = Bare()
    await again.akickoff(inputs={"id": "b1"})
    assert again.state["seen"] == 2
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


# -- continuing an interrupted kickoff --------------------------------------------------------


async def test_a_failed_kickoff_continues_at_the_failed_method_not_from_the_start(
    tmp_path: Path,
):
    db = tmp_path / "flows.db"
    calls: list[str] = []
    fail = {"right"}

    @persist(SQLiteFlowPersistence(db))
    class Diamond(Flow):
        @start()
        async def left(self) -> str:
            calls.append("left")
            self.state["left"] = "L"
            return "L"

        @start()
        async def right(self) -> str:
            calls.append("right")
            await asyncio.sleep(0)  # left finishes (and is saved) first
            if "right" in fail:
                raise ValueError("right is down")
            self.state["right"] = "R"
            return "R"

        @listen(and_(left, right))
        async def join(self, last: str) -> str:
            calls.append("join")
            return self.state["left"] + self.state["right"] + last

    with pytest.raises(ValueError, match="right is down"):
        await Diamond().akickoff(inputs={"id": "d1"})
    assert calls == ["left", "right"]
    assert rows(db) == [("d1", "left", 0)]
    fail.clear()
    calls.clear()
    flow = Diamond()
    assert await flow.akickoff(inputs={"id": "d1"}) == "LRR"
    assert calls == ["right", "join"]  # left completed and was saved: not run again
    assert rows(db) == [("d1", "join", 1)]


async def test_a_router_loop_continues_with_its_counts(tmp_path: Path):
    store = SQLiteFlowPersistence(tmp_path / "flows.db")
    crash_at = {3}

    @persist(store)
    class Loop(Flow):
        @start("again")
        async def work(self) -> None:
            self.state["n"] = self.state.get("n", 0) + 1
            if self.state["n"] in crash_at:
                crash_at.clear()
                raise RuntimeError("crash")

        @router(work)
        async def decide(self) -> str:
            return "again" if self.state["n"] < 5 else "stop"

        @listen("stop")
        async def done(self) -> int:
            return int(self.state["n"])

    with pytest.raises(RuntimeError, match="crash"):
        await Loop().akickoff(inputs={"id": "loop"})
    # The calls made before the crash count towards the bound: work ran twice, so a bound
    # of 4 stops the continued kickoff at its 5th call (n would reach 5).
    bounded = Loop(max_method_calls=4)
    with pytest.raises(FlowLimitError, match=r"Loop\.work was called 4 times"):
        await bounded.akickoff(inputs={"id": "loop"})
    flow = Loop()
    assert await flow.akickoff(inputs={"id": "loop"}) == 5
    assert flow.state["n"] == 5


def test_sync_kickoff_restores_a_typed_state_and_validates_it(tmp_path: Path):
    store = SQLiteFlowPersistence(tmp_path / "flows.db")

    @persist(store)
    class Typed(Flow[Count]):
        @start()
        def bump(self) -> int:
            self.state.counter += 1
            return self.state.counter

    assert Typed().kickoff(inputs={"id": "t1", "counter": 41}) == 42
    assert Typed().kickoff(inputs={"id": "t1"}) == 43
    with sqlite3.connect(store.db_path) as conn:
        conn.execute(
            "UPDATE fastcrew_flow_states SET state_json = ? WHERE flow_uuid = 't1'",
            (json.dumps({"id": "t1", "counter": "many"}),),
        )
    with pytest.raises(FlowPersistenceError, match=r"does not fit Count \(counter: "):
        Typed().kickoff(inputs={"id": "t1"})


async def test_a_changed_flow_cannot_continue_a_frame_it_does_not_have(tmp_path: Path):
    store = SQLiteFlowPersistence(tmp_path / "flows.db")

    @persist(store)
    class Before(Flow):
        @start()
        async def first(self) -> None:
            pass

        @listen(first)
        async def second(self) -> None:
            raise ValueError("stop here")

    with pytest.raises(ValueError, match="stop here"):
        await Before().akickoff(inputs={"id": "c1"})

    @persist(store)
    class After(Flow):
        @start()
        async def first(self) -> None:
            pass

    with pytest.raises(FlowPersistenceError, match=r"methods \['second'\] it no longer has"):
        await After().akickoff(inputs={"id": "c1"})


async def test_arun_flow_with_a_row_store_continues_or_returns_a_finished_row(tmp_path: Path):
    # What a batch worker does per row: its own store and key, whatever the input's id.
    store = SQLiteFlowPersistence(tmp_path / "rows.sqlite")
    calls: list[str] = []
    fail = {"second"}

    @persist()
    class Row(Flow):
        @start()
        async def first(self) -> str:
            calls.append("first")
            return "one"

        @listen(first)
        async def second(self, value: str) -> dict[str, str]:
            calls.append("second")
            if "second" in fail:
                raise ValueError("second failed")
            return {"got": value, "topic": self.state["topic"]}

    inputs = {"id": "dup", "topic": "tides"}
    with pytest.raises(ValueError, match="second failed"):
        await arun_flow(Row, inputs, persistence=store, key="row-7")
    fail.clear()
    out = await arun_flow(Row, inputs, persistence=store, key="row-7")
    assert calls == ["first", "second", "second"]
    assert out == {"result": {"got": "one", "topic": "tides"}, "state": {**inputs}}
    assert await arun_flow(Row, inputs, persistence=store, key="row-7") == out
    assert calls == ["first", "second", "second"]  # finished: returned, nothing ran
    assert [k for k, _, _ in rows(Path(store.db_path))] == ["row-7"]  # not the input's id


async def test_an_unpicklable_argument_makes_a_state_only_save_and_a_restart(
    caplog: pytest.LogCaptureFixture,
):
    calls: list[str] = []
    fail = {"keep"}

    @persist(SQLiteFlowPersistence(":memory:"))
    class Lambdas(Flow):
        @start()
        async def make(self):
            calls.append("make")
            self.state["made"] = self.state.get("made", 0) + 1
            return lambda: "not picklable"  # the frame saved after make would hold it

        @listen(make)
        async def keep(self, fn) -> str:
            calls.append("keep")
            if "keep" in fail:
                raise ValueError("keep failed")
            return fn()

    with pytest.raises(ValueError, match="keep failed"):
        await Lambdas().akickoff(inputs={"id": "l1"})
    assert "cannot be pickled" in caplog.text
    fail.clear()
    calls.clear()
    flow = Lambdas()
    # Only the state was saved: the restore runs from the start methods, on that state.
    assert await flow.akickoff(inputs={"id": "l1"}) == "not picklable"
    assert calls == ["make", "keep"]
    assert flow.state["made"] == 2


async def test_flow_persistence_argument_restores_with_a_crewai_style_store():
    store = Memory()
    store.states["m1"] = {"id": "m1", "counter": 7, "log": ["before"]}

    class NotDecorated(Flow[Count]):
        @start()
        async def bump(self) -> int:
            self.state.counter += 1
            return self.state.counter

    flow = NotDecorated(persistence=store)
    assert await flow.akickoff(inputs={"id": "m1"}) == 8
    assert flow.state.log == ["before"]
    assert store.saves == []  # no @persist: restores only, as in CrewAI


# -- concurrency ------------------------------------------------------------------------------


async def test_concurrent_flows_with_distinct_ids_do_not_mix_states(tmp_path: Path):
    store = SQLiteFlowPersistence(tmp_path / "flows.db")

    @persist(store)
    class Worker(Flow[Count]):
        @start()
        async def one(self) -> None:
            for _ in range(3):
                await asyncio.sleep(0)  # let the other flows interleave
                self.state.log.append(f"{self.state.id}:one")

        @listen(one)
        def two(self) -> None:
            self.state.counter = int(self.state.id.split("-")[1])

        @listen(two)
        async def three(self) -> str:
            await asyncio.sleep(0)
            self.state.log.append(f"{self.state.id}:three")
            return self.state.id

    flows = [Worker() for _ in range(24)]
    results = await asyncio.gather(
        *(f.akickoff(inputs={"id": f"w-{i}"}) for i, f in enumerate(flows))
    )
    assert results == [f"w-{i}" for i in range(24)]
    for i in range(24):
        saved = store.load_state(f"w-{i}")
        assert saved is not None
        assert saved["counter"] == i
        assert saved["log"] == [f"w-{i}:one"] * 3 + [f"w-{i}:three"]
    assert len(rows(Path(store.db_path))) == 24


# -- errors -----------------------------------------------------------------------------------


def test_persist_refuses_what_is_not_a_store_or_a_flow():
    with pytest.raises(ConfigurationError, match="takes a FlowPersistence"):
        persist(persistence="flows.db")  # type: ignore[arg-type]

    class NotAFlow:
        pass

    with pytest.raises(ConfigurationError, match="decorates a Flow subclass"):
        persist()(NotAFlow)


async def test_two_different_stores_for_one_flow_are_refused(tmp_path: Path):
    class Two(Flow):
        @start()
        @persist(SQLiteFlowPersistence(tmp_path / "a.db"))
        async def a(self) -> None:
            pass

        @listen(a)
        @persist(SQLiteFlowPersistence(tmp_path / "b.db"))
        async def b(self) -> None:
            pass

    with pytest.raises(ConfigurationError, match="2 different stores"):
        await Two().akickoff()


async def test_a_failing_store_fails_the_kickoff_naming_flow_id_and_method():
    class Broken(Memory):
        def save_state(self, flow_uuid: str, method_name: str, state_data: Any) -> None:
            raise OSError("disk full")

    @persist(Broken())
    class Saves(Flow):
        @start()
        async def a(self) -> None:
            pass

        @listen(a)
        async def b(self) -> None:
            pass

    with pytest.raises(FlowPersistenceError, match=r"Saves \(id 'x1'.*after 'a'.*disk full"):
        await Saves().akickoff(inputs={"id": "x1"})


# -- a real process killed with SIGKILL -------------------------------------------------------


@pytest.fixture(scope="module")
def spawned_sim() -> Iterator[SpawnedSim]:
    with spawn(seed=3, latency_ms=5) as server:
        yield server


def wait_for_line(path: Path, line: str, process: subprocess.Popen[bytes]) -> None:
    """Poll the child's progress markers (not a timing guess) until ``line`` appears."""
    deadline = time.monotonic() + 60
    while not (path.exists() and line in path.read_text().split()):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"no {line!r} in {path}"
        time.sleep(0.02)


def test_a_flow_killed_after_step_2_of_4_resumes_at_step_3(tmp_path: Path, spawned_sim: SpawnedSim):
    db, markers = tmp_path / "flows.db", tmp_path / "markers"
    cmd = [sys.executable, CHILD, str(db), "run-1", str(markers)]
    env = {**os.environ, "SIM_BASE_URL": spawned_sim.base_url}
    spawned_sim.reset_stats()
    child = subprocess.Popen(cmd, env={**env, "BLOCK_AT": "step3"}, stderr=subprocess.PIPE)
    wait_for_line(markers, "blocked", child)
    os.kill(child.pid, signal.SIGKILL)
    child.communicate()
    assert child.returncode == -signal.SIGKILL
    assert spawned_sim.stats()["requests_total"] == 2  # steps 1 and 2 asked; 3 was blocked
    assert rows(db) == [("run-1", "step2", 0)]

    done = subprocess.run(cmd, env=env, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert markers.read_text().split() == ["step1", "step2", "step3", "blocked", "step3", "step4"]
    assert spawned_sim.stats()["requests_total"] == 4  # the resumed run asked only 3 and 4
    out = json.loads(done.stdout)
    assert out["result"] == {"steps": 4}
    answers = out["state"]["answers"]
    assert [a.split(":")[0] for a in answers] == ["step1", "step2", "step3", "step4"]
    assert "step1 on tides" in answers[0]  # the state from before the kill was restored
    assert rows(db) == [("run-1", "step4", 1)]
