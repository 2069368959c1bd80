"""CrewAI compatibility: flow persistence, as CrewAI's own tests pin it down (CrewAI 1.15;
written for fastcrew, not copied). Real SQLite files under ``tmp_path``.

- ``lib/crewai/tests/test_flow_persistence.py``: 13 of its 15 tests — saves by ``@persist`` on
  methods and classes, dict and model states, restoring with ``inputs["id"]`` (other inputs
  over it), several persisted methods, ``verbose``, nested models, and the fork
  ``restore_from_state_id`` (fresh or pinned id, unknown id, None; ``kickoff``,
  ``kickoff_async``, ``akickoff``). Left out: ``test_fork_conflict_with_from_checkpoint_raises``
  and ``test_akickoff_fork_conflict_with_from_checkpoint_raises`` (``from_checkpoint`` /
  ``crewai.state.CheckpointConfig``, CrewAI's checkpointing, is not a fastcrew feature).
- ``lib/crewai/tests/test_flow_default_override.py``: both tests.
- ``lib/crewai/tests/test_flow_resumability_regression.py``: all 4 (the cyclic one is in
  test_flow.py). CrewAI's two resumption tests set the private ``_completed_methods`` to
  fake a half-done kickoff; here the kickoff really stops half-way (a method fails) and
  fastcrew's continuation is checked: completed methods are not re-run.

Deliberately different (each test says why): ``verbose=True`` prints a line on stderr (CrewAI
logs through ``logging``); fastcrew saves the final state once more when a kickoff finishes,
so a method without ``@persist`` that ran last is in the saved state; a fork on a flow without
any store raises ``ConfigurationError`` (CrewAI ignores the argument).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from fastcrew.flow import Flow, FlowState, listen, persist, router, start
from fastcrew.flow.persistence import SQLiteFlowPersistence


class CountState(FlowState):
    counter: int = 0
    message: str = ""


@pytest.fixture
def store(tmp_path: Path) -> SQLiteFlowPersistence:
    return SQLiteFlowPersistence(str(tmp_path / "test_flows.db"))


@pytest.fixture(autouse=True)
def _default_store_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FASTCREW_STORAGE_DIR", str(tmp_path / "default"))


# -- test_flow_persistence.py --------------------------------------------------------------


def test_persist_on_a_method_saves_a_dict_state(store: SQLiteFlowPersistence) -> None:
    class DictFlow(Flow[dict[str, str]]):
        initial_state = dict()

        @start()
        @persist(store)
        def init_step(self):
            self.state["message"] = "Hello, World!"
            self.state["id"] = "test-uuid"

    flow = DictFlow(persistence=store)
    flow.kickoff()
    saved = store.load_state(flow.state["id"])
    assert saved is not None
    assert saved["message"] == "Hello, World!"


def test_structured_state_persistence(store: SQLiteFlowPersistence) -> None:
    class Structured(Flow[CountState]):
        initial_state = CountState

        @start()
        @persist(store)
        def count_up(self):
            self.state.counter += 1
            self.state.message = f"Count is {self.state.counter}"

    flow = Structured(persistence=store)
    flow.kickoff()
    saved = store.load_state(flow.state.id)
    assert saved is not None
    assert (saved["counter"], saved["message"]) == (1, "Count is 1")


def test_flow_state_restoration_puts_other_inputs_over_it(store: SQLiteFlowPersistence) -> None:
    class Restorable(Flow[CountState]):
        @start()
        @persist(store)
        def set_message(self):
            if self.state.message == "":
                self.state.message = "Original message"
            if self.state.counter == 0:
                self.state.counter = 42

    first = Restorable(persistence=store)
    first.kickoff()
    uuid = first.state.id

    second = Restorable(persistence=store)
    second.kickoff(inputs={"id": uuid, "counter": 43})
    assert (second.state.id, second.state.message, second.state.counter) == (
        uuid,
        "Original message",
        43,
    )
    third = Restorable(persistence=store)
    third.kickoff(inputs={"id": uuid, "message": "Updated message"})
    assert (third.state.counter, third.state.message) == (43, "Updated message")


def test_multiple_method_persistence(store: SQLiteFlowPersistence) -> None:
    class MultiStep(Flow[CountState]):
        @start()
        @persist(store)
        def step_1(self):
            if self.state.counter == 1:
                self.state.counter, self.state.message = 99999, "Step 99999"
            else:
                self.state.counter, self.state.message = 1, "Step 1"

        @listen(step_1)
        @persist(store)
        def step_2(self):
            if self.state.counter == 1:
                self.state.counter, self.state.message = 2, "Step 2"

    flow = MultiStep(persistence=store)
    flow.kickoff()
    again = MultiStep(persistence=store)
    again.kickoff(inputs={"id": flow.state.id})
    assert (again.state.counter, again.state.message) == (2, "Step 2")


def test_an_unpersisted_last_method_is_in_the_final_save(store: SQLiteFlowPersistence) -> None:
    """Differs: fastcrew saves the state once more when the kickoff finishes (marked
    finished, with its result), so the restore below sees step_2's counter of 2 and runs
    the flow from there (2 -> 1 -> 2). CrewAI saves after step_1 only; its restore sees 1 and
    ends at 99999 (docs/flow-persistence.md)."""

    class NoPersistStep2(Flow[CountState]):
        @start()
        @persist(store)
        def step_1(self):
            if self.state.counter == 1:
                self.state.counter, self.state.message = 99999, "Step 99999"
            else:
                self.state.counter, self.state.message = 1, "Step 1"

        @listen(step_1)
        def step_2(self):
            if self.state.counter == 1:
                self.state.counter, self.state.message = 2, "Step 2"

    flow = NoPersistStep2(persistence=store)
    flow.kickoff()
    assert store.load_state(flow.state.id)["counter"] == 2  # type: ignore[index]
    again = NoPersistStep2(persistence=store)
    again.kickoff(inputs={"id": flow.state.id})
    assert (again.state.counter, again.state.message) == (2, "Step 2")


def test_persist_verbose_says_when_it_saves(
    store: SQLiteFlowPersistence, capfd: pytest.CaptureFixture[str]
) -> None:
    """Differs: the line goes to stderr (CrewAI: an INFO record, "Saving flow state")."""

    def make(verbose: bool) -> type[Flow[Any]]:
        class Quiet(Flow[dict[str, str]]):
            @start()
            @persist(store, verbose=verbose)
            def init_step(self):
                self.state["message"] = "Hello, World!"

        return Quiet

    make(False)(persistence=store).kickoff()
    assert "saved the state" not in capfd.readouterr().err
    flow = make(True)(persistence=store)
    flow.kickoff()
    assert f"saved the state of Quiet (id {flow.state['id']})" in capfd.readouterr().err


def test_persistence_with_nested_models(store: SQLiteFlowPersistence) -> None:
    class Message(BaseModel):
        role: str
        type: str
        content: str

    class State(FlowState):
        latest_message: Message | None = None
        history: list[Message] = []

    @persist(store)
    class Messages(Flow[State]):
        initial_state = State(latest_message=None, history=[])

        @start()
        def init_step(self):
            self.state.latest_message = Message(role="user", type="text", content="Hi")
            self.state.history.append(self.state.latest_message)

    flow = Messages(persistence=store)
    flow.kickoff()
    assert isinstance(flow.state, State)
    assert flow.state.latest_message is not None
    assert flow.state.latest_message.role == "user"
    (message,) = flow.state.history
    assert (message.type, message.content) == ("text", "Hi")
    again = Messages(persistence=store)
    again.kickoff(inputs={"id": flow.state.id})
    assert [m.content for m in again.state.history] == ["Hi", "Hi"]


def _counting(store: SQLiteFlowPersistence) -> type[Flow[CountState]]:
    class Forkable(Flow[CountState]):
        @start()
        @persist(store)
        def step(self):
            self.state.counter += 1

    return Forkable


def test_fork_with_restore_from_state_id(store: SQLiteFlowPersistence) -> None:
    Forkable = _counting(store)
    source = Forkable(persistence=store)
    source.kickoff()
    uuid = source.state.id

    same = Forkable(persistence=store)
    same.kickoff(inputs={"id": uuid})
    assert same.state.counter == 2
    assert store.load_state(uuid)["counter"] == 2

    fork = Forkable(persistence=store)
    fork.kickoff(restore_from_state_id=uuid)
    assert fork.state.id != uuid
    assert fork.state.counter == 3
    assert store.load_state(uuid)["counter"] == 2  # type: ignore[index]
    assert store.load_state(fork.state.id)["counter"] == 3  # type: ignore[index]


def test_fork_into_a_pinned_state_id(store: SQLiteFlowPersistence) -> None:
    Forkable = _counting(store)
    source = Forkable(persistence=store)
    source.kickoff()
    fork = Forkable(persistence=store)
    fork.kickoff(inputs={"id": "pinned-fork-uuid-1234"}, restore_from_state_id=source.state.id)
    assert (fork.state.id, fork.state.counter) == ("pinned-fork-uuid-1234", 2)
    assert store.load_state(source.state.id)["counter"] == 1  # type: ignore[index]
    assert store.load_state("pinned-fork-uuid-1234")["counter"] == 2  # type: ignore[index]


def test_fork_from_an_unknown_id_or_none_runs_as_usual(store: SQLiteFlowPersistence) -> None:
    Forkable = _counting(store)
    flow = Forkable(persistence=store)
    flow.kickoff(restore_from_state_id="no-such-uuid")
    assert flow.state.counter == 1
    assert flow.state.id != "no-such-uuid"
    baseline = Forkable(persistence=store)
    baseline.kickoff(restore_from_state_id=None)
    assert baseline.state.counter == 1


async def test_fork_via_kickoff_async_and_akickoff(store: SQLiteFlowPersistence) -> None:
    Forkable = _counting(store)
    source = Forkable(persistence=store)
    await source.akickoff()
    uuid = source.state.id
    one = Forkable(persistence=store)
    await one.kickoff_async(restore_from_state_id=uuid)
    two = Forkable(persistence=store)
    await two.akickoff(restore_from_state_id=uuid)
    pinned = Forkable(persistence=store)
    await pinned.akickoff(inputs={"id": "pinned-akickoff"}, restore_from_state_id=uuid)
    assert len({uuid, one.state.id, two.state.id}) == 3
    assert pinned.state.id == "pinned-akickoff"
    assert one.state.counter == two.state.counter == pinned.state.counter == 2
    assert store.load_state(uuid)["counter"] == 1  # type: ignore[index]
    for flow in (one, two, pinned):
        assert store.load_state(flow.state.id)["counter"] == 2  # type: ignore[index]


def test_fork_without_a_store_is_refused() -> None:
    """Differs: CrewAI ignores ``restore_from_state_id`` when the flow has no persistence;
    fastcrew says the flow has no store to read from."""

    class Plain(Flow[CountState]):
        @start()
        def step(self):
            self.state.counter += 1

    with pytest.raises(ValueError, match="has no store"):
        Plain().kickoff(restore_from_state_id="some-uuid")


# -- test_flow_default_override.py -------------------------------------------------------------


class PoemState(FlowState):
    sentence_count: int = 1000
    has_set_count: bool = False
    poem_type: str = ""


def test_persisted_values_override_the_model_defaults() -> None:
    @persist()
    class Poem(Flow[PoemState]):
        initial_state = PoemState

        @start()
        def set_sentence_count(self):
            if self.state.has_set_count and self.state.sentence_count == 2:
                self.state.sentence_count = 3
            elif self.state.has_set_count and self.state.sentence_count in (5, 1000):
                pass
            else:
                self.state.sentence_count, self.state.has_set_count = 2, True

    first = Poem()
    first.kickoff()
    uuid = first.state.id
    assert first.state.sentence_count == 2
    second = Poem()
    second.kickoff(inputs={"id": uuid})
    assert second.state.sentence_count == 3
    third = Poem()
    third.kickoff(inputs={"id": uuid, "has_set_count": True, "sentence_count": 5})
    assert third.state.sentence_count == 5
    fresh = Poem()
    fresh.kickoff(inputs={"has_set_count": True})
    assert fresh.state.sentence_count == 1000


def test_multi_step_default_override() -> None:
    @persist()
    class MultiStepPoem(Flow[PoemState]):
        initial_state = PoemState

        @start()
        def set_sentence_count(self):
            if not self.state.has_set_count:
                self.state.sentence_count, self.state.has_set_count = 3, True

        @listen(set_sentence_count)
        def set_poem_type(self):
            kinds = {3: "haiku", 5: "limerick"}
            self.state.poem_type = kinds.get(self.state.sentence_count, "free_verse")

        @listen(set_poem_type)
        def finished(self):
            return "finished"

    first = MultiStepPoem()
    first.kickoff()
    assert (first.state.sentence_count, first.state.poem_type) == (3, "haiku")
    second = MultiStepPoem()
    second.kickoff(inputs={"id": first.state.id, "sentence_count": 5})
    assert (second.state.sentence_count, second.state.poem_type) == (5, "limerick")
    third = MultiStepPoem()
    third.kickoff(inputs={"id": first.state.id})
    assert (third.state.sentence_count, third.state.poem_type) == (5, "limerick")


# -- test_flow_resumability_regression.py ------------------------------------------------------


def test_resuming_skips_completed_listeners_and_continues_the_chain(
    store: SQLiteFlowPersistence,
) -> None:
    """CrewAI fakes the half-done kickoff by setting ``_completed_methods``; here step_3
    really fails once, and the next kickoff with the id runs step_3 only."""
    log: list[str] = []
    fail = [True]

    @persist(store)
    class Chain(Flow[dict[str, str]]):
        @start()
        def step_1(self):
            log.append("step_1")
            self.state["step1"] = "done"

        @listen(step_1)
        def step_2(self):
            log.append("step_2")
            self.state["step2"] = "done"

        @listen(step_2)
        def step_3(self):
            log.append("step_3")
            if fail[0]:
                raise RuntimeError("interrupted")
            self.state["step3"] = "done"

    flow = Chain()
    with pytest.raises(RuntimeError, match="interrupted"):
        flow.kickoff()
    assert log == ["step_1", "step_2", "step_3"]
    log.clear()
    fail[0] = False
    again = Chain()
    again.kickoff(inputs={"id": flow.state["id"]})
    assert log == ["step_3"]
    assert again.state["step1"] == again.state["step2"] == again.state["step3"] == "done"


def test_resuming_a_conditional_start_chain(store: SQLiteFlowPersistence) -> None:
    log: list[str] = []
    fail = [True]

    @persist(store)
    class Conditional(Flow[dict[str, str]]):
        @start()
        def init(self):
            log.append("init")

        @router(init)
        def route_to_branch(self):
            log.append("router")
            return "branch_a"

        @start("branch_a")
        def branch_a_start(self):
            log.append("branch_a_start")
            self.state["branch"] = "a"

        @listen(branch_a_start)
        def branch_a_process(self):
            log.append("branch_a_process")
            if fail[0]:
                raise RuntimeError("interrupted")
            self.state["processed"] = "yes"

    flow = Conditional()
    with pytest.raises(RuntimeError):
        flow.kickoff()
    assert log == ["init", "router", "branch_a_start", "branch_a_process"]
    log.clear()
    fail[0] = False
    again = Conditional()
    again.kickoff(inputs={"id": flow.state["id"]})
    assert log == ["branch_a_process"]
    assert (again.state["branch"], again.state["processed"]) == ("a", "yes")


def test_a_cyclic_flow_with_a_conditional_start() -> None:
    log: list[str] = []

    class CyclicConditional(Flow[dict[str, str]]):
        iteration = 0

        @start()
        def initial(self):
            log.append("initial")

        @router(initial)
        def route_to_cycle(self):
            log.append("router_initial")
            return "loop"

        @start("loop")
        def cycle_entry(self):
            log.append(f"cycle_{self.iteration}")
            self.iteration += 1

        @router(cycle_entry)
        def cycle_router(self):
            log.append(f"router_{self.iteration - 1}")
            return "loop" if self.iteration < 3 else "exit"

    CyclicConditional().kickoff()
    assert log == ["initial", "router_initial"] + [
        f"{kind}_{i}" for i in range(3) for kind in ("cycle", "router")
    ]
