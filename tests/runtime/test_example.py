"""examples/research_crew.py: the zero-arg factory the demo uses, on the simulator."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "research_crew.py"


def _load():
    spec = importlib.util.spec_from_file_location("research_crew", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_make_crew_runs_on_the_simulator(sim, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", sim.base_url)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    example = _load()
    crew = example.make_crew()
    rows = [{"id": "q1", "topic": "solid-state batteries"}, {"id": "q2", "topic": "CRISPR"}]
    outputs = await crew.akickoff_for_each(rows)
    for row, out in zip(rows, outputs, strict=True):
        brief = example.Brief.model_validate(out.json_dict)
        assert brief.model_dump() == out.to_dict()
        assert row["topic"] in out.tasks_output[0].raw
        assert out.token_usage.successful_requests == 2
    assert sim.stats()["requests_total"] == 4
