"""One flow per input row (what ``fastcrew batch --flow`` runs): loading a Flow class from a
spec, running it per row against the simulator, and its JSON output."""

from __future__ import annotations

import asyncio
import datetime
import textwrap

import orjson
import pytest
from pydantic import BaseModel

from fastcrew.errors import ConfigurationError
from fastcrew.flow import arun_flow, flow_output, jsonable, load_flow

FLOW_FILE = """
from pydantic import BaseModel

from fastcrew import Agent, Crew, Task
from fastcrew.flow import Flow, and_, listen, start


class RowState(BaseModel):
    topic: str
    summary: str = ""
    angle: str = ""


class RowFlow(Flow[RowState]):
    @start()
    async def summarise(self):
        out = await crew("Summarise {topic}").akickoff({"topic": self.state.topic})
        self.state.summary = out.raw

    @start()
    async def find_angle(self):
        out = await crew("An angle on {topic}").akickoff({"topic": self.state.topic})
        self.state.angle = out.raw

    @listen(and_(summarise, find_angle))
    def combine(self):
        return {"topic": self.state.topic, "words": len(self.state.summary.split())}


def crew(description):
    agent = Agent(role="Writer", goal="Write", backstory="Terse.", llm="gpt-4o-mini")
    task = Task(description=description, expected_output="x", agent=agent)
    return Crew(agents=[agent], tasks=[task])


if __name__ == "__main__":
    raise SystemExit("the script part must not run when the flow is loaded")
"""


@pytest.fixture
def flow_file(tmp_path):
    path = tmp_path / "row_flow.py"
    path.write_text(textwrap.dedent(FLOW_FILE))
    return path


async def test_a_small_flow_batch_end_to_end(flow_file, openai_env):
    flow_cls = load_flow(f"{flow_file}:RowFlow")
    rows = [{"topic": f"topic {i}"} for i in range(4)]
    outputs = await asyncio.gather(*(arun_flow(flow_cls, row) for row in rows))

    for row, out in zip(rows, outputs, strict=True):
        assert out["result"]["topic"] == row["topic"]
        assert out["result"]["words"] > 0
        assert set(out["state"]) == {"topic", "summary", "angle", "id"}
        assert f"Summarise {row['topic']}" in out["state"]["summary"]
        orjson.dumps(out)  # JSON as it stands
    stats = openai_env.stats()
    assert stats["requests_total"] == 8
    assert stats["peak_in_flight"] == 8  # every row's two starts at once


def test_load_flow_errors(tmp_path, flow_file):
    for spec, match in [
        ("no-colon", "expected 'path/to/file.py:name'"),
        (f"{tmp_path}/missing.py:RowFlow", "no such file"),
        (f"{flow_file}:Nope", "has no 'Nope'"),
        (f"{flow_file}:crew", "not a subclass of fastcrew.flow.Flow"),
        (f"{flow_file}:BaseModel", "not a subclass"),
    ]:
        with pytest.raises(ConfigurationError, match=match):
            load_flow(spec)
    assert load_flow(f"{flow_file}:RowFlow").__name__ == "RowFlow"


def test_module_specs_load_too(tmp_path, monkeypatch):
    (tmp_path / "my_flows.py").write_text(
        "from fastcrew.flow import Flow, start\n"
        "class Hello(Flow):\n"
        "    @start()\n"
        "    def hi(self):\n"
        "        return 'hi ' + self.state['name']\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    flow_cls = load_flow("my_flows:Hello")
    assert asyncio.run(arun_flow(flow_cls, {"name": "row"}))["result"] == "hi row"


def test_outputs_become_json():
    from fastcrew import CrewOutput

    class Model(BaseModel):
        when: datetime.date

    out = CrewOutput(raw="text", pydantic=Model(when=datetime.date(2025, 1, 2)))
    value = {1: (out, {"a"}), "m": Model(when=datetime.date(2025, 1, 2)), "o": object}
    data = jsonable(value)
    assert data["1"][0] == {"raw": "text", "json_dict": None, "pydantic": {"when": "2025-01-02"}}
    assert data["1"][1] == ["a"]
    assert data["m"] == {"when": "2025-01-02"}
    assert data["o"] == str(object)
    orjson.dumps(data)

    class Holder:
        def state_json(self):
            return {"id": "x"}

    assert flow_output(Holder(), out) == {  # type: ignore[arg-type]
        "result": {"raw": "text", "json_dict": None, "pydantic": {"when": "2025-01-02"}},
        "state": {"id": "x"},
    }
