"""Flow semantics: starts, listeners, and_/or_, routers and loops, sync methods, failures,
kickoff variants. Timing is read from a fast-forwarded loop clock (looptime), never slept."""

from __future__ import annotations

import asyncio
import enum
import threading

import pytest

from fastcrew import FastCrewError
from fastcrew.errors import ConfigurationError, InputError, UnsupportedFeatureError
from fastcrew.flow import Flow, FlowError, FlowLimitError, and_, listen, or_, router, start

from .conftest import notes


def now() -> float:
    return asyncio.get_running_loop().time()


def test_both_import_paths_and_the_package_exports():
    import fastcrew
    import fastcrew.flow
    import fastcrew.flow.flow

    for name in ("Flow", "start", "listen", "router", "and_", "or_"):
        assert getattr(fastcrew.flow.flow, name) is getattr(fastcrew.flow, name)
        assert getattr(fastcrew, name) is getattr(fastcrew.flow, name)
    assert fastcrew.FlowLimitError is FlowLimitError


# -- starts and listeners --------------------------------------------------------------------


@pytest.mark.looptime
async def test_starts_run_concurrently_and_and_joins_them():
    class Two(Flow):
        @start()
        async def a(self):
            await asyncio.sleep(1)
            return "A"

        @start()
        async def b(self):
            await asyncio.sleep(2)
            return "B"

        @listen(and_(a, b))
        async def join(self, last):
            return (last, now())

    t0 = now()
    last, at = await Two().akickoff()
    assert last == "B"  # the payload of the completion that met the condition
    assert at - t0 == pytest.approx(2)  # not 3: the starts overlapped


@pytest.mark.looptime
async def test_listeners_fired_by_one_event_run_concurrently():
    class Fan(Flow):
        @start()
        async def go(self):
            return 1

        @listen(go)
        async def x(self, v):
            await asyncio.sleep(1)
            return v + 1

        @listen(go)
        async def y(self, v):
            await asyncio.sleep(1)
            return v + 2

        @listen(and_(x, y))
        def done(self):
            return "done"

    t0 = now()
    flow = Fan()
    assert await flow.akickoff() == "done"
    assert now() - t0 == pytest.approx(1)
    assert sorted(flow.method_outputs[1:3]) == [2, 3]


async def test_listener_gets_the_trigger_value_only_when_it_takes_an_argument():
    class Pass(Flow):
        @start()
        def first(self):
            return {"n": 1}

        @listen(first)
        def with_arg(self, data):
            return data["n"] + 1

        @listen(with_arg)
        def without_arg(self):
            return "no arg"

        @listen("without_arg")  # a method name as a string
        async def by_name(self, value):
            return f"got {value}"

    flow = Pass()
    assert await flow.akickoff() == "got no arg"
    assert flow.method_outputs == [{"n": 1}, 2, "no arg", "got no arg"]


async def test_or_fires_once_on_the_first_and_nested_conditions():
    calls: list[str] = []

    class Cond(Flow):
        @start()
        def a(self):
            return "a"

        @start()
        def b(self):
            return "b"

        @listen(a)
        def c(self):
            return "c"

        @listen(or_(a, b))
        def either(self, value):
            calls.append(f"either:{value}")

        @listen(or_(and_(a, c), "never"))
        def a_and_c(self):
            calls.append("a_and_c")

        @listen(and_(or_(a, "never"), b, {"type": "OR", "conditions": ["c", "never"]}))
        def mixed(self):
            calls.append("mixed")

        @router(c)
        def silent(self):  # a router, so "never" may be a label
            return None

    await Cond().akickoff()
    assert len([c for c in calls if c.startswith("either:")]) == 1
    assert calls.count("a_and_c") == 1
    assert calls.count("mixed") == 1


async def test_sync_methods_run_in_a_thread_and_never_block_the_loop():
    seen = threading.Event()

    class Mixed(Flow):
        @start()
        def blocking(self):
            # waits for the async start: it can only run if this thread isn't the loop's
            return seen.wait(timeout=10), threading.current_thread() is threading.main_thread()

        @start()
        async def on_loop(self):
            await asyncio.sleep(0)
            seen.set()

        @listen(blocking)
        def result(self, value):
            return value

    assert await Mixed().akickoff() == (True, False)


async def test_a_sync_method_returning_a_coroutine_is_awaited():
    class Lazy(Flow):
        @start()
        def first(self):
            async def later():
                return "awaited"

            return later()

    assert await Lazy().akickoff() == "awaited"


async def test_the_return_value_is_the_last_method_to_finish():
    class Order(Flow):
        @start()
        async def slow(self):
            await asyncio.sleep(0.01)
            return "slow"

        @start()
        async def fast(self):
            return "fast"

    flow = Order()
    assert await flow.akickoff() == "slow"
    assert flow.method_outputs == ["fast", "slow"]


# -- routers and loops -----------------------------------------------------------------------


class Verdict(enum.Enum):
    OK = "ok"
    BAD = "bad"


async def test_router_labels_fire_listeners_with_the_label():
    class Route(Flow):
        @start()
        def score(self):
            return 7

        @router(score)
        def decide(self, value):
            return Verdict.OK if value > 5 else Verdict.BAD

        @listen("ok")
        def good(self, value):
            return f"good {value}"

        @listen("bad")
        def on_bad(self):  # a method named "bad" would listen to itself: refused
            raise AssertionError("not this branch")

        @listen(decide)
        def saw_label(self, label):
            return label

    flow = Route()
    await flow.akickoff()
    assert "good ok" in flow.method_outputs  # label listeners get the label (CrewAI 1.15)
    assert Verdict.OK in flow.method_outputs  # listeners of the router itself get its output
    assert "bad" not in [o for o in flow.method_outputs if isinstance(o, str)]


async def test_a_router_returning_none_fires_no_label():
    class Quiet(Flow):
        @start()
        def go(self):
            return 1

        @router(go)
        def decide(self):
            return None

        @listen("None")
        def never(self):
            raise AssertionError

    assert await Quiet().akickoff() is None


async def test_a_router_loop_with_a_conditional_start_ends_on_its_label():
    class Retry(Flow):
        @start("retry")  # the flow's only start: runs at kickoff, then on every "retry"
        def attempt(self):
            self.state["tries"] = self.state.get("tries", 0) + 1
            return self.state["tries"]

        @router(attempt)
        def check(self, tries):
            return "done" if tries >= 3 else "retry"

        @listen("done")
        def finish(self, label):
            return f"{label} after {self.state['tries']}"

    flow = Retry()
    assert await flow.akickoff() == "done after 3"
    assert flow.state["tries"] == 3


async def test_or_listeners_rearm_after_a_router_decision():
    class Loop(Flow):
        @start()
        def begin(self):
            self.state["n"] = 0

        @listen(or_(begin, "again"))
        def work(self):
            self.state["n"] += 1
            return self.state["n"]

        @router(work)
        def more(self, n):
            return "again" if n < 4 else "stop"

    flow = Loop()
    assert await flow.akickoff() == "stop"
    assert flow.state["n"] == 4


class Forever(Flow):
    @start()
    def begin(self):
        return 0

    @router(or_(begin, "again"))
    def spin(self):
        return "again"


async def test_an_endless_router_loop_hits_the_step_bound():
    with pytest.raises(FlowLimitError, match=r"Forever ran 1000 methods") as caught:
        await Forever(max_method_calls=10_000).akickoff()
    assert isinstance(caught.value, RecursionError)  # CrewAI raises RecursionError
    with pytest.raises(FlowLimitError, match=r"ran 10 methods .*next: 'spin'"):
        await Forever(max_steps=10).akickoff()
    with pytest.raises(FlowLimitError, match=r"ran 5 methods"):
        await Forever(max_steps=10).akickoff(max_steps=5)
    with pytest.raises(FlowLimitError, match=r"Forever.spin was called 100 times"):
        await Forever().akickoff(max_steps=10_000)

    class Tight(Forever):
        max_steps = 3

    with pytest.raises(FlowLimitError, match=r"ran 3 methods"):
        await Tight().akickoff()


# -- failures ----------------------------------------------------------------------------------


@pytest.mark.looptime
async def test_a_failing_method_cancels_its_siblings_and_is_raised_as_itself():
    cancelled: list[str] = []

    class Fails(Flow):
        @start()
        async def boom(self):
            await asyncio.sleep(1)
            raise ValueError("bad data")

        @start()
        async def long(self):
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                cancelled.append("long")
                raise

        @listen(long)
        def never(self):
            raise AssertionError

    t0 = now()
    with pytest.raises(ValueError, match="bad data") as caught:
        await Fails().akickoff()
    assert "in flow method 'boom' of Fails" in notes(caught.value)
    assert cancelled == ["long"]
    assert now() - t0 == pytest.approx(1)


async def test_a_failing_listener_cancels_the_llm_call_in_flight(slow_sim):
    from fastcrew import Agent, Crew, Task

    from .conftest import sim_llm

    started = asyncio.Event()

    class Probe:
        def __init__(self, llm):
            self.llm, self.cancelled = llm, 0

        async def achat(self, messages, **kwargs):
            started.set()
            try:
                return await self.llm.achat(messages, **kwargs)
            except asyncio.CancelledError:
                self.cancelled += 1
                raise

    probe = Probe(sim_llm(slow_sim.base_url))
    agent = Agent(role="R", goal="g", backstory="b", llm=probe)
    crew = Crew(agents=[agent], tasks=[Task(description="d", expected_output="e", agent=agent)])

    class Half(Flow):
        @start()
        async def research(self):
            return await crew.akickoff()

        @start()
        async def check(self):
            await started.wait()  # the sibling's LLM call is in flight
            raise KeyError("missing")

    with pytest.raises(KeyError) as caught:
        await Half().akickoff()
    assert "in flow method 'check' of Half" in notes(caught.value)
    assert probe.cancelled == 1


async def test_two_simultaneous_failures_raise_the_first_and_count_the_other():
    gate = asyncio.Event()

    class Both(Flow):
        @start()
        async def opener(self):
            gate.set()
            await asyncio.sleep(60)

        @start()
        async def one(self):
            await gate.wait()
            raise ValueError("one")

        @start()
        async def two(self):
            await gate.wait()  # wakes in the same loop iteration as `one`
            raise ValueError("two")

    with pytest.raises(ValueError, match="one") as caught:
        await Both().akickoff()
    assert "1 other method(s) failed or were cancelled at the same time" in notes(caught.value)


# -- kickoff variants ---------------------------------------------------------------------------


class Echo(Flow):
    @start()
    async def echo(self):
        return self.state.get("topic")


async def test_kickoff_inside_a_running_loop_points_to_the_async_variants():
    with pytest.raises(FastCrewError, match=r"akickoff.*kickoff_async"):
        Echo().kickoff(inputs={"topic": "x"})


def test_kickoff_runs_its_own_loop_and_kickoff_async_is_native():
    assert Echo().kickoff(inputs={"topic": "sync"}) == "sync"

    async def main():
        return await Echo().kickoff_async({"topic": "a"}), await Echo().akickoff({"topic": "b"})

    assert asyncio.run(main()) == ("a", "b")


async def test_one_instance_runs_one_kickoff_at_a_time():
    gate = asyncio.Event()

    class Wait(Flow):
        @start()
        async def hold(self):
            await gate.wait()
            return self.state["row"]

    flow = Wait()
    first = asyncio.create_task(flow.akickoff({"row": 1}))
    await asyncio.sleep(0)
    with pytest.raises(FlowError, match="already running a kickoff"):
        await flow.akickoff({"row": 2})
    gate.set()
    assert await first == 1
    # separate instances run side by side, each with its own state
    assert await asyncio.gather(*(Wait().akickoff({"row": i}) for i in range(3))) == [0, 1, 2]
    # and the instance is free again, its state carried over (as in CrewAI)
    assert await flow.akickoff({"other": True}) == 1


# -- definitions -----------------------------------------------------------------------------


def test_bad_definitions_fail_when_the_class_is_created():
    with pytest.raises(ConfigurationError, match=r"listens to 'helper', which is not a flow"):

        class NotAStep(Flow):
            def helper(self):
                pass

            @start()
            def go(self):
                pass

            @listen(helper)
            def after(self):
                pass

    with pytest.raises(ConfigurationError, match=r"'typo'.*the flow has no @router"):

        class Typo(Flow):
            @start()
            def go(self):
                pass

            @listen("typo")
            def after(self):
                pass

    with pytest.raises(ConfigurationError, match="a condition is a method"):
        listen(42)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="at least one"):
        and_()


async def test_a_flow_without_start_and_unsupported_options():
    class Empty(Flow):
        pass

    with pytest.raises(ConfigurationError, match="no @start"):
        await Empty().akickoff()
    with pytest.raises(ConfigurationError, match="subclass Flow"):
        Flow()
    with pytest.raises(ConfigurationError, match="takes a FlowPersistence"):
        Echo(persistence=object())

    class Streamed(Echo):
        stream = True

    with pytest.raises(UnsupportedFeatureError, match="stream"):
        await Streamed().akickoff()
    with pytest.raises(InputError, match="takes a mapping"):
        await Echo().akickoff(["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="max_steps must be a positive int"):
        Echo(max_steps=0)


async def test_subclasses_inherit_extend_and_override_steps():
    class Base(Flow):
        @start()
        def first(self):
            return "base"

        @listen(first)
        def second(self, v):
            return f"second({v})"

    class Child(Base):
        @start()
        def first(self):  # overridden, still a start
            return "child"

        @listen("second")
        def third(self, v):
            return f"third({v})"

    class Plain(Base):
        def second(self, v):  # undecorated override: no longer a step
            return "unused"

    assert await Base().akickoff() == "second(base)"
    assert await Child().akickoff() == "third(second(child))"
    assert await Plain().akickoff() == "base"


async def test_a_start_method_can_be_a_router():
    class Gate(Flow):
        @start()
        @router()
        def triage(self):
            return "urgent"

        @listen("urgent")
        def handle(self, label):
            return f"handled {label}"

    assert await Gate().akickoff() == "handled urgent"

    with pytest.raises(ConfigurationError, match=r"@router\(\) needs a condition"):

        class Loose(Flow):
            @router()
            def nowhere(self):
                return "x"
