"""Flow state: dict or pydantic model, id added, inputs merged and validated."""

from __future__ import annotations

import uuid

import pytest
from pydantic import BaseModel

from fastcrew.errors import InputError
from fastcrew.flow import Flow, FlowState, listen, start


class Counts(BaseModel):
    topic: str = ""
    n: int = 0


class Typed(Flow[Counts]):
    @start()
    async def bump(self):
        self.state.n += 1
        return self.state.n

    @listen(bump)
    def describe(self):
        return f"{self.state.topic}:{self.state.n}"


async def test_a_model_state_gets_an_id_and_its_inputs_validated():
    flow = Typed()
    assert isinstance(flow.state, Counts)
    uuid.UUID(flow.state.id)  # added: Counts has no id
    assert flow.flow_id == flow.state.id
    assert await flow.akickoff({"topic": "ai", "n": "41"}) == "ai:42"  # lax coercion
    assert flow.state_json() == {"topic": "ai", "n": 42, "id": flow.flow_id}


async def test_invalid_inputs_raise_before_any_method_runs():
    flow = Typed()
    with pytest.raises(InputError, match=r"invalid inputs for the state of Typed .*n: ") as caught:
        await flow.akickoff({"n": "many"})
    assert isinstance(caught.value, ValueError)
    assert caught.value.variable == "n"
    assert flow.method_outputs == []


async def test_required_fields_come_from_the_inputs():
    class Needs(BaseModel):
        question: str

    class Ask(Flow[Needs]):
        @start()
        def answer(self):
            return self.state.question.upper()

    assert await Ask().akickoff({"question": "why"}) == "WHY"
    with pytest.raises(InputError, match="question: Field required"):
        await Ask().akickoff()


async def test_the_state_carries_over_to_the_next_kickoff_and_keeps_its_id():
    flow = Typed()
    first_id = flow.flow_id
    await flow.akickoff({"topic": "x"})
    assert await flow.akickoff() == "x:2"
    assert flow.flow_id == first_id
    await flow.akickoff({"id": 7})  # an input id wins (made a string, like CrewAI's str id)
    assert flow.flow_id == "7"


async def test_dict_state_initial_state_and_constructor_values():
    class Loose(Flow):
        initial_state = {"tags": []}

        @start()
        def go(self):
            self.state["tags"].append(self.state["topic"])
            return self.state

    a, b = Loose(topic="from init"), Loose()
    state = await a.akickoff()
    assert state["tags"] == ["from init"]
    uuid.UUID(state["id"])
    await b.akickoff({"topic": "t"})
    assert b.state["tags"] == ["t"]  # initial values are copied, never shared
    assert a.flow_id != b.flow_id


async def test_initial_state_as_a_model_class_or_instance_and_flowstate():
    class WithId(FlowState):
        label: str = "l"

    class ByClass(Flow):
        initial_state = WithId

        @start()
        def go(self):
            return self.state.label

    class ByInstance(Flow):
        initial_state = Counts(topic="preset")

        @start()
        def go(self):
            return self.state.topic

    assert await ByClass().akickoff() == "l"
    assert type(ByClass().state) is WithId  # it has an id already: used as is
    first, second = ByInstance(), ByInstance()
    assert await first.akickoff() == "preset"
    assert first.flow_id != second.flow_id
