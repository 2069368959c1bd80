"""What a batch costs, row by row: ``usage.cost_usd`` on crew and flow rows, OpenAI rows left
in OpenAI's format, the summary's ``cost``, unpriced models named, ``--price`` checked.

Real ``fastcrew batch`` runs (worker processes) against a spawned simulator. The test crew's
model (``sim-model``) has no table price: ``--price sim-model=1/2`` makes every row's cost
exact (1 USD per million prompt tokens, 2 per million completion tokens). The flow's crews
use ``gpt-4o-mini``, priced from genai-prices' table.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastcrew.batch.spending import progress_cost
from fastcrew.batch.supervisor.spend import Spend
from fastcrew.pricing import Prices, TokenUsage
from fastcrew.sim import SpawnedSim, spawn

from .helpers import batch_cmd, read_rows, write_inputs

FLOW = f"{Path(__file__).with_name('flows.py')}:RowFlow"
PRICE = "sim-model=1/2"


@pytest.fixture(scope="module")
def sim() -> Iterator[SpawnedSim]:
    with spawn(seed=3) as server:
        yield server


def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def summary_of(out: Path) -> dict:
    return json.loads(Path(f"{out}.summary.json").read_text())


def test_crew_rows_carry_their_exact_cost(tmp_path: Path, sim: SpawnedSim):
    inputs = write_inputs(tmp_path / "in.jsonl", 60)
    out = tmp_path / "out.jsonl"
    done = run(batch_cmd(inputs, out, sim.base_url, "--price", PRICE))
    assert done.returncode == 0, done.stderr
    rows = read_rows(out)
    total = 0.0
    for row in rows:
        usage = row["usage"]
        expected = (usage["prompt_tokens"] * 1 + usage["completion_tokens"] * 2) / 1e6
        assert usage["cost_usd"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
        assert usage["cost_usd"] > 0
        assert usage["unpriced_requests"] == 0
        total += usage["cost_usd"]
    cost = summary_of(out)["cost"]
    assert cost["usd"] == pytest.approx(total, rel=1e-9)
    assert cost["rows_usd"] == pytest.approx(total, rel=1e-9)
    assert cost["all_runs_usd"] == pytest.approx(total, rel=1e-9)
    assert (cost["unpriced_requests"], cost["unpriced_models"]) == (0, [])
    assert cost["prices"] == [PRICE]
    assert "  cost: $" in done.stderr
    assert "unpriced" not in done.stderr


def test_an_unpriced_model_is_named_not_taken_for_free(tmp_path: Path, sim: SpawnedSim):
    inputs = write_inputs(tmp_path / "in.jsonl", 20)
    out = tmp_path / "out.jsonl"
    done = run(batch_cmd(inputs, out, sim.base_url))
    assert done.returncode == 0, done.stderr
    for row in read_rows(out):
        assert row["usage"]["cost_usd"] == 0
        assert row["usage"]["unpriced_requests"] == row["usage"]["requests"] == 1
    cost = summary_of(out)["cost"]
    assert cost["usd"] == 0
    assert cost["unpriced_requests"] == 20
    assert cost["unpriced_models"] == ["sim-model"]
    assert "20 calls unpriced: sim-model" in done.stderr


def test_flow_rows_carry_the_cost_of_every_call_they_made(tmp_path: Path, sim: SpawnedSim):
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("".join(json.dumps({"topic": f"t{i}"}) + "\n" for i in range(6)))
    out = tmp_path / "out.jsonl"
    done = run(batch_cmd(inputs, out, sim.base_url, option="--flow", spec=FLOW))
    assert done.returncode == 0, done.stderr
    prices = Prices()  # gpt-4o-mini from the table: linear in tokens, so the row's sum is
    total = 0.0  # its tokens' price
    for row in read_rows(out):
        usage = row["usage"]
        assert usage["requests"] >= 2
        tokens = TokenUsage(usage["prompt_tokens"], usage["completion_tokens"])
        expected = prices.cost("gpt-4o-mini", tokens).usd
        assert usage["cost_usd"] == pytest.approx(expected, rel=1e-6)
        assert usage["unpriced_requests"] == 0
        total += usage["cost_usd"]
    assert summary_of(out)["cost"]["usd"] == pytest.approx(total, rel=1e-9)


def test_openai_rows_stay_openais_and_their_cost_is_in_the_summary(tmp_path: Path, sim: SpawnedSim):
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    url = "/v1/chat/completions"
    lines = [{"custom_id": f"c{i}", "method": "POST", "url": url, "body": body} for i in range(5)]
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "out.jsonl"
    done = run(batch_cmd(inputs, out, sim.base_url, "--api-key", "sk-test"))
    assert done.returncode == 0, done.stderr
    prices = Prices()
    total = 0.0
    for row in read_rows(out):
        assert list(row) == ["id", "custom_id", "response", "error"]  # OpenAI's format, unchanged
        answer = row["response"]["body"]
        assert "cost_usd" not in answer["usage"]
        total += prices.cost(answer["model"], TokenUsage.from_wire(answer["usage"])).usd
    assert total > 0
    assert summary_of(out)["cost"]["usd"] == pytest.approx(total, rel=1e-9)


def test_a_bad_price_is_refused_before_anything_runs(tmp_path: Path, sim: SpawnedSim):
    inputs = write_inputs(tmp_path / "in.jsonl", 3)
    out = tmp_path / "out.jsonl"
    done = run(batch_cmd(inputs, out, sim.base_url, "--price", "sim-model=0.4"))
    assert done.returncode == 2
    assert "gives 1 amount(s), want 2 (IN/OUT) or 3 (IN/OUT/CACHED)" in done.stderr
    assert "--price gpt-4.1-mini=0.4/1.6" in done.stderr
    assert not out.exists()
    assert not Path(f"{out}.journal").exists()


def test_the_progress_line_projects_the_whole_input():
    spend = Spend()
    assert progress_cost(spend, 0, 100, 0) == ""
    for i in range(10):
        spend.finished(slot=0, cost_usd=0.01 + 0.001 * (i % 2), unpriced=0, ok=True)
    text = progress_cost(spend, 10, 100, 10)
    # $0.105 spent on 10 rows; 90 left at $0.0105 each: $1.05 in the end, within a range
    assert text.startswith("$0.1050, ~$1.0500 ($")
    assert text.endswith(") at the end")
    low, high = (float(x.strip("$")) for x in text.split("(")[1].split(")")[0].split("-"))
    assert low < 1.05 < high
    assert progress_cost(spend, 10, 10, 10) == "$0.1050"  # nothing left to project
