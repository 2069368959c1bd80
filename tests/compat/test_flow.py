"""CrewAI compatibility: the Flow runtime, behaviour by behaviour, as CrewAI's own
``lib/crewai/tests/test_flow.py`` pins it down (CrewAI 1.15; written for fastcrew, not copied).

Covered here (67 of its 76 tests; one more below): sequencing, several starts, cycles, and_ /
or_ (nested, single-branch, parallel starts, router loops, chained routers, stale and_ state),
routers (start routers, stacked ``@listen`` + ``@router``, ``emit=``, falsy labels, several
routers on one trigger, cascades), async and mixed methods, exceptions, restarts, custom
attributes, state ids, flow names, the trigger payload (6 tests), the six ``akickoff`` tests,
cyclic or_ listeners (also with persistence), self-listening methods, a state holding
unpicklable objects, and the 14 ``test_locked_list_proxy_*`` / ``test_locked_dict_proxy_*``
tests (list and dict operations on state fields; CrewAI wraps them in lock proxies, fastcrew
hands methods the containers themselves).

Deliberately different (tested as fastcrew behaves, the test says why): a method listening to
its own name is refused when the class is created (CrewAI: at ``flow_definition()`` or the
first instantiation) — 3 tests; a listener on a name that is no method of a flow without
routers is refused (``test_and_branch_inside_or_does_not_race`` and
``test_listen_runtime_uses_flow_definition_without_legacy_listener_metadata``; their behaviour
itself is tested with a router in the flow).

``test_flow_drains_pending_memory_saves_before_finished_event`` is covered in
``test_agent_memory.py`` (deliberately different: no ``FlowFinishedEvent``; the saves are
stored when ``kickoff`` returns).

Left out (8):

- the event bus: ``test_unstructured_flow_event_emission``, ``test_structured_flow_event_emission``,
  ``test_stateless_flow_event_emission``, ``test_flow_custom_name_overrides_class_name_in_events``
  (fastcrew emits no events);
- visualization: ``test_flow_plotting``;
- CrewAI-private internals: ``test_flow_copy_state_with_unpickleable_objects``,
  ``test_flow_copy_state_without_unpickleable_objects``, ``test_flow_copy_state_with_dict_state``
  (``Flow._copy_state``, the copy CrewAI makes for its events; the unpicklable-state kickoff of
  ``test_flow_copy_state_with_nested_unpickleable_objects`` is covered).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from pydantic import BaseModel

from fastcrew.flow import Flow, and_, listen, or_, router, start
from fastcrew.flow.persistence import SQLiteFlowPersistence

# -- sequencing, starts, cycles ------------------------------------------------------------


def test_simple_sequential_flow() -> None:
    order: list[str] = []

    class Seq(Flow):
        @start()
        def step_1(self):
            order.append("step_1")

        @listen(step_1)
        def step_2(self):
            order.append("step_2")

    Seq().kickoff()
    assert order == ["step_1", "step_2"]


def test_flow_with_multiple_starts() -> None:
    order: list[str] = []
    lock = threading.Lock()

    def note(name: str) -> None:
        with lock:
            order.append(name)

    class Starts(Flow):
        @start()
        def step_a(self):
            note("step_a")

        @start()
        def step_b(self):
            note("step_b")

        @listen(step_a)
        def step_c(self):
            note("step_c")

        @listen(step_b)
        def step_d(self):
            note("step_d")

    Starts().kickoff()
    assert set(order) == {"step_a", "step_b", "step_c", "step_d"}
    assert order.index("step_c") > order.index("step_a")
    assert order.index("step_d") > order.index("step_b")


def test_cyclic_flow_and_cyclic_re_execution() -> None:
    """Also test_flow_resumability_regression.py's cyclic-re-execution test."""
    order: list[str] = []

    class Cyclic(Flow):
        iteration = 0
        max_iterations = 3

        @start("loop")
        def step_1(self):
            if self.iteration >= self.max_iterations:
                return None
            order.append(f"step_1_{self.iteration}")
            return f"result_{self.iteration}"

        @listen(step_1)
        def step_2(self):
            order.append(f"step_2_{self.iteration}")

        @router(step_2)
        def step_3(self):
            order.append(f"step_3_{self.iteration}")
            self.iteration += 1
            return "loop" if self.iteration < self.max_iterations else "exit"

    Cyclic().kickoff()
    assert order == [f"step_{n}_{i}" for i in range(3) for n in (1, 2, 3)]


def test_flow_restart() -> None:
    order: list[str] = []

    class Again(Flow):
        @start()
        def step_1(self):
            order.append("step_1")

        @listen(step_1)
        def step_2(self):
            order.append("step_2")

    flow = Again()
    flow.kickoff()
    flow.kickoff()
    assert order == ["step_1", "step_2"] * 2


def test_flow_with_custom_state_attributes() -> None:
    class Counter(Flow):
        def __init__(self) -> None:
            super().__init__()
            self.counter = 0

        @start()
        def step_1(self):
            self.counter += 1

        @listen(step_1)
        def step_2(self):
            self.counter *= 2

    flow = Counter()
    flow.kickoff()
    assert flow.counter == 2


# -- and_ / or_ --------------------------------------------------------------------------------


def test_flow_with_and_condition() -> None:
    order: list[str] = []

    class Both(Flow):
        @start()
        def step_1(self):
            order.append("step_1")

        @start()
        def step_2(self):
            order.append("step_2")

        @listen(and_(step_1, step_2))
        def step_3(self):
            order.append("step_3")

    Both().kickoff()
    assert order[-1] == "step_3"
    assert {"step_1", "step_2"} <= set(order)


def test_flow_with_or_condition() -> None:
    order: list[str] = []

    class Either(Flow):
        @start()
        def step_a(self):
            order.append("step_a")

        @start()
        def step_b(self):
            order.append("step_b")

        @listen(or_(step_a, step_b))
        def step_c(self):
            order.append("step_c")

    Either().kickoff()
    assert order.count("step_c") == 1
    first = min(order.index(s) for s in ("step_a", "step_b") if s in order)
    assert order.index("step_c") > first


def test_and_condition_with_a_single_branch_or() -> None:
    class Nested(Flow):
        @start()
        def event_a(self):
            return "a"

        @listen(event_a)
        def event_b(self):
            return "b"

        @router(event_b)
        def emit_event_c(self):
            return "event_c"

        @listen(and_(event_a, event_b, or_("event_c")))
        def event_d(self):
            return "done"

    assert Nested().kickoff() == "done"


async def test_or_listener_fires_once_across_parallel_starts() -> None:
    fired = 0
    slow_may_finish = asyncio.Event()

    class Parallel(Flow):
        @start()
        async def fast_start(self):
            return "fast"

        @start()
        async def slow_start(self):
            await slow_may_finish.wait()  # finishes after the listener fired
            return "slow"

        @listen(or_(fast_start, slow_start))
        def handler(self):
            nonlocal fired
            fired += 1
            slow_may_finish.set()

    await Parallel().kickoff_async()
    assert fired == 1


def test_or_listener_re_arms_across_a_router_loop() -> None:
    fired = 0

    class Loop(Flow):
        iteration = 0

        @start()
        def kick(self):
            return "kick"

        @router(kick)
        def initial_router(self):
            return "SignalA"

        @listen(or_("SignalA", "SignalB"))
        def handler(self):
            nonlocal fired
            fired += 1

        @router(handler)
        def loop_router(self):
            self.iteration += 1
            return "stop" if self.iteration >= 3 else "SignalB"

    Loop().kickoff()
    assert fired == 3


def test_or_listener_fires_once_across_chained_routers() -> None:
    """The labels of routers set off by one completion are one wave: or_ fires once."""
    fired = 0

    class Chained(Flow):
        @start()
        def kick(self):
            return "kick"

        @router(kick)
        def router_a(self):
            return "SignalA"

        @router("SignalA")
        def router_b(self):
            return "SignalB"

        @listen(or_("SignalA", "SignalB"))
        def handler(self):
            nonlocal fired
            fired += 1

    Chained().kickoff()
    assert fired == 1


def test_nested_and_or_conditions_wait_for_a_whole_and() -> None:
    order: list[str] = []

    class Nested(Flow):
        @start()
        def method_1(self):
            order.append("method_1")

        @listen(method_1)
        def method_2(self):
            order.append("method_2")

        @router(method_2)
        def method_3(self):
            order.append("method_3")
            return "b_condition"

        @listen("b_condition")
        def method_5(self):
            order.append("method_5")

        @listen(method_5)
        async def method_4(self):
            order.append("method_4")

        @listen(or_("a_condition", "b_condition"))
        async def method_6(self):
            order.append("method_6")

        @listen(or_(and_("a_condition", method_6), and_(method_6, method_4)))
        def method_7(self):
            order.append("method_7")

        @listen(method_7)
        async def method_8(self):
            order.append("method_8")

    Nested().kickoff()
    assert order.index("method_7") > max(order.index("method_6"), order.index("method_4"))
    assert order.index("method_8") > order.index("method_7")


def test_diamond_dependency_pattern() -> None:
    order: list[str] = []

    class Diamond(Flow):
        @start()
        def start(self):
            order.append("start")

        @listen(start)
        def path_a(self):
            order.append("path_a")

        @listen(start)
        def path_b(self):
            order.append("path_b")

        @listen(and_(path_a, path_b))
        def converge(self):
            order.append("converge")
            return "converged"

    assert Diamond().kickoff() == "converged"
    assert order[0] == "start"
    assert order[-1] == "converge"
    assert len(order) == 4


def test_complex_and_or_branching() -> None:
    order: list[str] = []
    lock = threading.Lock()

    def note(name: str) -> None:
        with lock:
            order.append(name)

    class Branching(Flow):
        @start()
        def init(self):
            note("init")

        @listen(init)
        def branch_1a(self):
            note("branch_1a")

        @listen(init)
        def branch_1b(self):
            note("branch_1b")

        @listen(init)
        def branch_1c(self):
            note("branch_1c")

        @listen(and_(branch_1a, branch_1b))
        def branch_2a(self):
            note("branch_2a")

        @listen(or_(branch_1a, branch_1b, branch_1c))
        def branch_2b(self):
            note("branch_2b")

        @listen(and_(branch_2a, branch_2b))
        def final(self):
            note("final")

    Branching().kickoff()
    assert order.count("branch_2b") == 1
    assert order.count("final") == 1
    assert order.index("branch_2a") > max(order.index("branch_1a"), order.index("branch_1b"))
    assert order.index("final") > max(order.index("branch_2a"), order.index("branch_2b"))


def test_and_join_waits_for_parallel_branches() -> None:
    order: list[str] = []
    lock = threading.Lock()

    def note(name: str) -> None:
        with lock:
            order.append(name)

    class Join(Flow):
        @start()
        def init(self):
            note("init")

        @listen(init)
        def branch_a(self):
            note("branch_a")

        @listen(init)
        def branch_b(self):
            note("branch_b")

        @listen(and_(branch_a, branch_b))
        def verify_state(self):
            note("verify_state")

    Join().kickoff()
    assert order.index("verify_state") > max(order.index("branch_a"), order.index("branch_b"))


def test_deeply_nested_conditions() -> None:
    order: list[str] = []
    lock = threading.Lock()

    def note(name: str) -> None:
        with lock:
            order.append(name)

    class Deep(Flow):
        @start()
        def a(self):
            note("a")

        @start()
        def b(self):
            note("b")

        @start()
        def c(self):
            note("c")

        @start()
        def d(self):
            note("d")

        @listen(or_(and_(a, b), and_(c, d)))
        def result(self):
            note("result")

    Deep().kickoff()
    at = order.index("result")
    assert (at > order.index("a") and at > order.index("b")) or (
        at > order.index("c") and at > order.index("d")
    )


def test_an_or_branch_does_not_leave_stale_and_state() -> None:
    """When an or_ listener fires, the and_s inside it forget what they had seen."""
    fired: list[str] = []

    class Stale(Flow):
        @start()
        def begin(self):
            pass

        @listen(begin)
        def a(self):
            pass

        @listen(begin)
        def c(self):
            pass

        @listen(and_(a, c))
        def x(self):
            pass

        @listen(or_(and_("a", "x"), and_("c", "y")))
        def joined(self):
            fired.append("joined")

        @router(joined)
        def emit_y(self):
            return "y"

    Stale().kickoff()
    assert fired == ["joined"]


def test_an_and_branch_inside_an_or_does_not_race() -> None:
    """Differs: fastcrew refuses, when the class is created, a listener on a name that is no
    method of a flow without routers (a typo would never fire; docs/compatibility.md); CrewAI
    accepts it. With a router in the flow the name may be a label, and the behaviour is
    CrewAI's."""
    with pytest.raises(ValueError, match="neither a method of NoRouter nor a label"):

        class NoRouter(Flow):
            @start()
            def go(self):
                pass

            @listen(or_(go, "fallback"))
            def done(self):
                pass

    order: list[str] = []
    lock = threading.Lock()

    def note(name: str) -> None:
        with lock:
            order.append(name)

    class Fallback(Flow):
        @start()
        def go(self):
            note("go")

        @listen(go)
        def a(self):
            note("a")

        @listen(go)
        def b(self):
            note("b")

        @listen(or_(and_(a, b), "fallback"))
        def done(self):
            note("done")

        @router(done)
        def never(self):  # a router, so "fallback" may be a label (see below)
            return None

    Fallback().kickoff()
    assert order.index("done") > max(order.index("a"), order.index("b"))


def test_cyclic_flow_or_listeners_fire_every_iteration() -> None:
    order: list[str] = []

    class CyclicOr(Flow):
        iteration = 0

        @start()
        def begin(self):
            order.append("begin")

        @router(or_(begin, "loop_back"))
        def route(self):
            self.iteration += 1
            if self.iteration <= 3:
                return "type_a" if self.iteration % 2 == 1 else "type_b"
            return "done"

        @listen("type_a")
        def handler_a(self):
            order.append("handler_a")

        @listen("type_b")
        def handler_b(self):
            order.append("handler_b")

        @listen(or_(handler_a, handler_b))
        def merge(self):
            order.append("merge")

        @listen(merge)
        def loop_back(self):
            order.append("loop_back")

    CyclicOr().kickoff()
    assert order.count("merge") == 3
    assert order.count("loop_back") == 3
    assert order.count("handler_a") == 2
    assert order.count("handler_b") == 1


def _classify_loop(order: list[str]) -> type[Flow]:
    class MultiOrCyclic(Flow):
        iteration = 0

        @start()
        def begin(self):
            order.append("begin")

        @router(or_(begin, "capture"))
        def classify(self):
            self.iteration += 1
            order.append("classify")
            return "type_a" if self.iteration <= 3 else "exit"

        @listen("type_a")
        def handle_type_a(self):
            order.append("handle")

        @listen(or_("type_a", "type_b", "type_c"))
        def store(self):
            order.append("store")

        @listen(or_(handle_type_a))
        def send(self):
            order.append("send")

        @listen("send")
        def capture(self):
            order.append("capture")

        @listen("exit")
        def finish(self):
            order.append("finish")

    return MultiOrCyclic


def test_cyclic_flow_multiple_or_listeners_fire_every_iteration() -> None:
    order: list[str] = []
    _classify_loop(order)().kickoff()
    assert [order.count(m) for m in ("store", "send", "capture")] == [3, 3, 3]


def test_cyclic_flow_works_with_persistence_and_an_id_input(tmp_path: Any) -> None:
    order: list[str] = []
    flow = _classify_loop(order)(persistence=SQLiteFlowPersistence(str(tmp_path / "f.db")))
    flow.kickoff(inputs={"id": "a-new-id"})
    assert "finish" in order
    assert order.count("classify") == 4
    assert [order.count(m) for m in ("handle", "send", "capture")] == [3, 3, 3]


# -- routers ---------------------------------------------------------------------------------


def test_flow_with_router() -> None:
    order: list[str] = []

    class Route(Flow):
        @start()
        def start_method(self):
            order.append("start_method")

        @router(start_method)
        def router(self):
            order.append("router")
            return "step_if_true"

        @listen("step_if_true")
        def truthy(self):
            order.append("step_if_true")

        @listen("step_if_false")
        def falsy(self):
            order.append("step_if_false")

    Route().kickoff()
    assert order == ["start_method", "router", "step_if_true"]


def test_decorators_leave_no_legacy_attributes_and_conditional_starts_run() -> None:
    order: list[str] = []

    class Definition(Flow):
        @start()
        def begin(self):
            order.append("begin")

        @router(begin, emit=["branch_event"])
        def route(self):
            order.append("route")
            return "branch_event"

        @start("branch_event")
        def branch(self):
            order.append("branch")

        @listen(branch)
        def done(self):
            order.append("done")

        @listen(or_(and_(begin, route), "fallback"))
        def nested(self):
            order.append("nested")

    for name in ("begin", "route", "branch", "nested"):
        method = Definition.__dict__[name]
        for legacy in ("__is_start_method__", "__is_router__", "__trigger_methods__"):
            assert not hasattr(method, legacy)
    Definition().kickoff()
    assert [o for o in order if o != "nested"] == ["begin", "route", "branch", "done"]
    assert order.count("nested") == 1


def test_a_start_router_routes_its_return_value() -> None:
    order: list[str] = []

    class StartRouter(Flow):
        @start()
        @router(emit=["continue"])
        def decide(self):
            order.append("decide")
            return "continue"

        @listen("continue")
        def handle_continue(self, result):
            order.append(f"handle_continue:{result}")
            return "done"

    assert StartRouter().kickoff() == "done"
    assert order == ["decide", "handle_continue:continue"]


def test_a_start_router_chains_to_a_stacked_listen_router() -> None:
    order: list[str] = []

    class Chained(Flow):
        @start()
        @router(emit=["approved", "not_approved"])
        def first_router(self):
            order.append("first_router")
            return "approved"

        @listen("approved")
        @router(emit=["second_approval", "not_approved"])
        def second_router(self):
            order.append("second_router")
            return "second_approval"

        @listen("second_approval")
        def handle_second_approval(self, result):
            order.append(f"handle_second_approval:{result}")
            return "done"

    assert Chained().kickoff() == "done"
    assert order == ["first_router", "second_router", "handle_second_approval:second_approval"]


def test_a_falsy_router_result_is_still_a_label() -> None:
    order: list[str] = []

    class Zero(Flow):
        @start()
        def begin(self):
            order.append("begin")

        @router(begin)
        def decide(self):
            order.append("decide")
            return 0

        @listen("0")
        def handle_zero(self):
            order.append("handle_zero")

    Zero().kickoff()
    assert order == ["begin", "decide", "handle_zero"]


def test_router_with_or_and_and_conditions() -> None:
    order: list[str] = []
    lock = threading.Lock()

    def note(name: str) -> None:
        with lock:
            order.append(name)

    class Complex(Flow):
        @start()
        def step_a(self):
            note("step_a")

        @start()
        def step_b(self):
            note("step_b")

        @router(or_("step_a", "step_b"))
        def router_or(self):
            note("router_or")
            return "next_step_or"

        @listen("next_step_or")
        def handle_next_step_or_event(self):
            note("handle_next")

        @listen(handle_next_step_or_event)
        def branch_2_step(self):
            note("branch_2_step")

        @router(and_(handle_next_step_or_event, branch_2_step))
        def router_and(self):
            note("router_and")
            return "final_step"

        @listen("final_step")
        def log_final_step(self):
            note("log_final_step")

    Complex().kickoff()
    assert {"step_a", "step_b", "router_or", "branch_2_step", "log_final_step"} <= set(order)
    assert order.index("router_and") > max(order.index("handle_next"), order.index("branch_2_step"))
    assert order.index("log_final_step") > order.index("router_and")


def test_multiple_routers_from_the_same_trigger() -> None:
    order: list[str] = []
    lock = threading.Lock()

    def note(name: str) -> None:
        with lock:
            order.append(name)

    class Medical(Flow):
        def __init__(self) -> None:
            super().__init__()
            self.state["diagnosed_conditions"] = "DHA"

        @start()
        def scan_medical(self):
            note("scan_medical")

        @router(scan_medical)
        def diagnose_conditions(self):
            note("diagnose_conditions")
            return "diagnosis_complete"

        @router(diagnose_conditions)
        def diabetes_router(self):
            note("diabetes_router")
            return "diabetes" if "D" in self.state["diagnosed_conditions"] else None

        @listen("diabetes")
        def diabetes_analysis(self):
            note("diabetes_analysis")

        @router(diagnose_conditions)
        def hypertension_router(self):
            note("hypertension_router")
            return "hypertension" if "H" in self.state["diagnosed_conditions"] else None

        @listen("hypertension")
        def hypertension_analysis(self):
            note("hypertension_analysis")

        @router(diagnose_conditions)
        def anemia_router(self):
            note("anemia_router")
            return "anemia" if "A" in self.state["diagnosed_conditions"] else None

        @listen("anemia")
        def anemia_analysis(self):
            note("anemia_analysis")

    Medical().kickoff()
    for kind in ("diabetes", "hypertension", "anemia"):
        assert order.index(f"{kind}_router") > order.index("diagnose_conditions")
        assert order.index(f"{kind}_analysis") > order.index(f"{kind}_router")


def test_router_cascade_chain() -> None:
    order: list[str] = []

    class Cascade(Flow):
        @start()
        def begin(self):
            order.append("begin")
            self.state["level"] = 1

        @router(begin)
        def router_level_1(self):
            order.append("router_level_1")
            return "level_1_path"

        @listen("level_1_path")
        def process_level_1(self):
            order.append("process_level_1")
            self.state["level"] = 2

        @router(process_level_1)
        def router_level_2(self):
            order.append("router_level_2")
            return "level_2_event"

        @listen("level_2_event")
        def process_level_2(self):
            order.append("process_level_2")
            self.state["level"] = 3

        @router(process_level_2)
        def router_level_3(self):
            order.append("router_level_3")
            return "final_event"

        @listen("final_event")
        def finalize(self):
            order.append("finalize")

    flow = Cascade()
    flow.kickoff()
    assert order == [
        "begin",
        "router_level_1",
        "process_level_1",
        "router_level_2",
        "process_level_2",
        "router_level_3",
        "finalize",
    ]
    assert flow.state["level"] == 3


def test_only_the_returned_router_event_fires() -> None:
    order: list[str] = []

    class Exclusive(Flow):
        @start()
        def begin(self):
            self.state["condition"] = "take_event_b"

        @router(begin)
        def decision_point(self):
            return {"take_event_a": "event_a", "take_event_b": "event_b"}.get(
                self.state["condition"], "event_c"
            )

        @listen("event_a")
        def handle_event_a(self):
            order.append("a")

        @listen("event_b")
        def handle_event_b(self):
            order.append("b")

        @listen("event_c")
        def handle_event_c(self):
            order.append("c")

    Exclusive().kickoff()
    assert order == ["b"]


@pytest.mark.parametrize(
    ("condition", "is_router"),
    [("process", False), (or_("other_trigger", "process"), False), ("process", True)],
)
def test_a_method_listening_to_itself_is_refused(condition: Any, is_router: bool) -> None:
    """Differs in timing: fastcrew compiles the graph when the class is created, so the class
    statement raises; CrewAI raises the same ValueError at ``flow_definition()`` or when the
    flow is first instantiated."""
    decorate = router(condition) if is_router else listen(condition)
    with pytest.raises(ValueError, match="Invalid flow definition for SelfListen"):

        class SelfListen(Flow):
            @start()
            def begin(self):
                return "process"

            @router(begin)
            def route(self):
                return "process"

            @decorate
            def process(self):
                pass


# -- async, exceptions, state ---------------------------------------------------------------


def test_async_flow() -> None:
    order: list[str] = []

    class Async(Flow):
        @start()
        async def step_1(self):
            order.append("step_1")
            await asyncio.sleep(0)

        @listen(step_1)
        async def step_2(self):
            order.append("step_2")

    asyncio.run(Async().kickoff_async())
    assert order == ["step_1", "step_2"]


def test_mixed_sync_async_execution_order() -> None:
    order: list[str] = []

    class Mixed(Flow):
        @start()
        def sync_start(self):
            order.append("sync_start")

        @listen(sync_start)
        async def async_step_1(self):
            order.append("async_step_1")

        @listen(async_step_1)
        def sync_step_2(self):
            order.append("sync_step_2")

        @listen(sync_step_2)
        async def async_step_3(self):
            order.append("async_step_3")

        @listen(async_step_3)
        def sync_final(self):
            order.append("sync_final")

    asyncio.run(Mixed().kickoff_async())
    assert order == ["sync_start", "async_step_1", "sync_step_2", "async_step_3", "sync_final"]


def test_flow_with_exceptions() -> None:
    order: list[str] = []

    class Fails(Flow):
        @start()
        def step_1(self):
            order.append("step_1")
            raise ValueError("An error occurred in step_1")

        @listen(step_1)
        def step_2(self):
            order.append("step_2")

    with pytest.raises(ValueError, match="An error occurred in step_1"):
        Fails().kickoff()
    assert order == ["step_1"]


def test_flow_uuid_unstructured() -> None:
    seen: list[str] = []

    class Unstructured(Flow):
        @start()
        def first_method(self):
            seen.append(self.state["id"])
            self.state["data"] = "example"

        @listen(first_method)
        def second_method(self):
            seen.append(self.state["id"])

    flow = Unstructured()
    flow.kickoff()
    assert seen == [flow.state["id"]] * 2
    assert isinstance(flow.state["id"], str)
    assert len(flow.state["id"]) == 36


def test_flow_uuid_structured() -> None:
    class MyState(BaseModel):
        counter: int = 0
        message: str = "initial"

    seen: list[str] = []

    class Structured(Flow[MyState]):
        @start()
        def first_method(self):
            seen.append(self.state.id)
            self.state.counter += 1

        @listen(first_method)
        def second_method(self):
            seen.append(self.state.id)
            self.state.counter += 1
            self.state.message = "final"

    flow = Structured()
    flow.kickoff()
    assert seen == [flow.state.id] * 2
    assert len(flow.state.id) == 36
    assert (flow.state.counter, flow.state.message) == (2, "final")


def test_a_state_may_hold_unpicklable_objects() -> None:
    class Nested(BaseModel):
        data: dict = {}
        items: list = []

    class Locks(Flow[Nested]):
        @start()
        def step_1(self):
            self.state.data["lock"] = threading.RLock()
            self.state.data["value"] = 42

        @listen(step_1)
        def step_2(self):
            self.state.items.extend([threading.Lock(), "normal_value"])

    flow = Locks()
    flow.kickoff()
    assert flow.state.data["value"] == 42
    assert len(flow.state.items) == 2


def test_flow_name() -> None:
    class MyFlow(Flow):
        name = "MyFlow"

        @start()
        def start(self):
            return "Hello, world!"

    assert MyFlow().name == "MyFlow"


# -- the trigger payload ------------------------------------------------------------------------


def test_trigger_payload_reaches_the_start_methods_that_take_it() -> None:
    got: list[Any] = []

    class Trigger(Flow):
        @start()
        def start_1(self, crewai_trigger_payload=None):
            got.append(("start_1", crewai_trigger_payload))

        @start()
        async def start_2(self, crewai_trigger_payload=None):
            got.append(("start_2", crewai_trigger_payload))
            return "started"

        @listen(start_2)
        def second(self, result):
            got.append(("second", result))
            return "finished"

    assert Trigger().kickoff(inputs={"crewai_trigger_payload": "data"}) == "finished"
    assert sorted(got) == [("second", "started"), ("start_1", "data"), ("start_2", "data")]
    got.clear()
    Trigger().kickoff(inputs={"other_data": "some value"})
    assert ("start_1", None) in got


def test_trigger_payload_with_a_structured_state_and_a_start_without_it() -> None:
    class TriggerState(BaseModel):
        id: str = "test"
        message: str = ""

    class Structured(Flow[TriggerState]):
        @start()
        def start_method(self, crewai_trigger_payload=None):
            return crewai_trigger_payload

    assert Structured().kickoff(inputs={"crewai_trigger_payload": "payload"}) == "payload"

    class Without(Flow):
        @start()
        def start_without_param(self):
            return "started"

        @listen(start_without_param)
        def second_method(self):
            return "finished"

    assert Without().kickoff(inputs={"crewai_trigger_payload": "some data"}) == "finished"


# -- akickoff (CrewAI's TestFlowAkickoff) ----------------------------------------------------


class _Simple(Flow):
    def __init__(self, log: list[str] | None = None) -> None:
        super().__init__()
        self.log = log if log is not None else []

    @start()
    def step_1(self):
        self.log.append("step_1")
        return "step_1_result"

    @listen(step_1)
    def step_2(self, result):
        self.log.append("step_2")
        return "final_result"


async def test_akickoff_basic_and_equivalent_to_kickoff_async() -> None:
    one, two = _Simple(), _Simple()
    assert await one.akickoff() == await two.kickoff_async() == "final_result"
    assert one.log == two.log == ["step_1", "step_2"]


async def test_akickoff_with_inputs() -> None:
    class Inputs(Flow):
        @start()
        def process_input(self):
            return self.state.get("value", "default")

    assert await Inputs().akickoff(inputs={"value": "custom_value"}) == "custom_value"


async def test_akickoff_with_async_methods() -> None:
    class AsyncMethods(Flow):
        @start()
        async def async_step_1(self):
            return "async_result"

        @listen(async_step_1)
        async def async_step_2(self, result):
            return f"final_{result}"

    assert await AsyncMethods().akickoff() == "final_async_result"


async def test_akickoff_with_multiple_starts_and_a_router() -> None:
    order: list[str] = []

    class Starts(Flow):
        @start()
        def start_a(self):
            order.append("start_a")

        @start()
        def start_b(self):
            order.append("start_b")

    await Starts().akickoff()
    assert sorted(order) == ["start_a", "start_b"]

    class Route(Flow):
        @start()
        def begin(self):
            return "data"

        @router(begin)
        def route(self, data):
            return "PATH_A"

        @listen("PATH_A")
        def handle_path_a(self):
            return "path_a_result"

    assert await Route().akickoff() == "path_a_result"


# -- state containers (CrewAI's test_locked_list_proxy_* / test_locked_dict_proxy_*) ----------


class _ListState(BaseModel):
    items: list = []


class _DictState(BaseModel):
    data: dict = {}


def _filled_list() -> Any:
    class Lists(Flow[_ListState]):
        @start()
        def populate(self):
            self.state.items = [3, 1, 4, 1, 5, 9, 2, 6]

    flow = Lists()
    flow.kickoff()
    return flow.state


def test_a_list_in_the_state_behaves_as_a_list() -> None:
    """CrewAI wraps state lists in a lock proxy and checks it acts as a list; fastcrew hands
    methods the list itself. Same operations, same results."""
    state = _filled_list()
    assert (state.items.index(4), state.items.index(1, 2)) == (2, 3)
    with pytest.raises(ValueError, match="999 is not in list"):
        state.items.index(999)
    assert (state.items.count(1), state.items.count(999)) == (2, 0)
    assert state.items + [10, 11] == [3, 1, 4, 1, 5, 9, 2, 6, 10, 11]  # noqa: RUF005 (__add__)
    assert ([0] + state.items)[0] == 0  # noqa: RUF005 (__radd__)
    assert len(state.items * 2) == len(2 * state.items) == 16
    assert list(reversed(state.items)) == [6, 2, 9, 5, 1, 4, 1, 3]
    copied = state.items.copy()
    copied.append(999)
    assert isinstance(copied, list)
    assert 999 not in state.items
    state.items.reverse()
    assert state.items == [6, 2, 9, 5, 1, 4, 1, 3]
    state.items.sort()
    assert state.items == [1, 1, 2, 3, 4, 5, 6, 9]
    state.items.sort(reverse=True)
    assert state.items == [9, 6, 5, 4, 3, 2, 1, 1]
    state.items.sort(key=lambda x: x)
    state.items.sort(key=lambda x: -x)
    assert state.items == [9, 6, 5, 4, 3, 2, 1, 1]
    state.items += [10]
    state.items.append(99)
    assert state.items[-2:] == [10, 99]


def test_a_dict_in_the_state_behaves_as_a_dict() -> None:
    class Dicts(Flow[_DictState]):
        @start()
        def populate(self):
            self.state.data = {"a": 1, "b": 2, "c": 3}

    flow = Dicts()
    flow.kickoff()
    data = flow.state.data
    copied = data.copy()
    copied["z"] = 99
    assert isinstance(copied, dict)
    assert "z" not in data
    assert data | {"d": 4} == {"a": 1, "b": 2, "c": 3, "d": 4}
    assert "d" not in data
    assert {"z": 0} | data == {"z": 0, "a": 1, "b": 2, "c": 3}
    assert list(reversed(data)) == ["c", "b", "a"]
    flow.state.data |= {"d": 4}
    flow.state.data["e"] = 5
    assert (flow.state.data["d"], flow.state.data["e"]) == (4, 5)
