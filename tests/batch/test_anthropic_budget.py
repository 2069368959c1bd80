"""``--itpm`` / ``--otpm``: Anthropic's input and output token budgets, one for all workers,
end to end (real worker processes, the simulator's ``/v1/messages`` under ``--simulate``)."""

from __future__ import annotations

from pathlib import Path

from fastcrew import run_batch
from fastcrew.batch.summary import format_summary

from .crews import ANTHROPIC_MAX_TOKENS
from .helpers import CREWS, assert_exactly_once_in_order, read_rows, write_inputs

OTPM = 12_000
"""A minute's output budget: 12 calls' max_tokens at once — 2 workers x 20 rows want 40."""
SIM = {"otpm": OTPM, "itpm": 1_000_000, "latency_ms": 40, "seed": 3}


def run(tmp_path: Path, n: int, **options: object):
    inputs = write_inputs(tmp_path / "in.jsonl", n)
    out = tmp_path / "out.jsonl"
    result = run_batch(
        inputs,
        output=out,
        crew=f"{CREWS}:anthropic_crew",
        simulate=SIM,
        workers=2,
        concurrency=20,
        quiet=True,
        **options,
    )
    assert (result.exit_code, result.rows_ok) == (0, n)
    assert_exactly_once_in_order(read_rows(out), n)
    return result


def test_one_output_budget_for_every_worker_keeps_the_provider_free_of_429s(tmp_path: Path):
    result = run(tmp_path, 120, otpm=OTPM, itpm=1_000_000)
    assert 40 * ANTHROPIC_MAX_TOKENS > OTPM  # the budget binds: each worker alone would not
    assert result.summary["this_run"]["rate_limited_429"] == 0
    limit = result.summary["rate_limit"]
    assert (limit["itpm"], limit["otpm"]) == (1_000_000, OTPM)
    assert "12,000 otpm" in format_summary(result.summary)


def test_without_the_options_the_budgets_are_learned_from_anthropics_headers(tmp_path: Path):
    result = run(tmp_path, 120)
    limit = result.summary["rate_limit"]
    assert (limit["itpm"], limit["otpm"]) == (1_000_000, OTPM)
    assert limit["tpm"] is None  # Anthropic sends no combined budget
    # Before the first answers nothing is known: of the first 40 calls at once the provider
    # refuses those past its 12 calls' worth of max_tokens; none after that.
    assert result.summary["this_run"]["rate_limited_429"] <= 40 - OTPM // ANTHROPIC_MAX_TOKENS
