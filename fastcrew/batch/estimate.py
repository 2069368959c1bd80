"""``--estimate N``: run N rows sampled evenly across the input and project the whole run.

The rows are picked by stride (row ``floor((k + 1/2) x total / N)`` for k < N: the middle of
each of N equal slices of the input, so a file sorted by size or topic is sampled across its
length), copied to a temporary directory and run there as a real batch on the configured
endpoint, workers and limits — the real output, journal and summary are not touched. From
the sample's rows:

- **cost**: the sample's spend per row x the input's rows, range ± 2 standard errors of the
  rows' cost (x rows);
- **time**: the worker start-up, plus the slowest of what bounds a run — rows in flight
  (rows x mean row latency / (workers x concurrency)), requests per minute (rows x calls
  per row / rpm) and tokens per minute (rows x tokens per row / tpm); the limits are
  ``--rpm``/``--tpm`` or those learned from the provider's headers during the sample.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import ConfigurationError
from .config import EXIT_OK, BatchConfig, BatchResult
from .spending import money
from .storage.inputs import STDIN, LineReader, open_input

__all__ = ["Projection", "pick", "project", "run_estimate"]

_READ = 4096


def pick(total: int, n: int) -> list[int]:
    """``n`` row indices spread evenly over ``total`` rows (all of them if ``n >= total``)."""
    if n >= total:
        return list(range(total))
    return sorted({int((k + 0.5) * total / n) for k in range(n)})


def _count(config: BatchConfig) -> int:
    reader = LineReader(open_input(config.inputs), max_line_bytes=config.max_line_bytes)
    try:
        while reader.read(_READ):
            pass
        return reader.index
    finally:
        reader.close()


def _sample(config: BatchConfig, wanted: set[int], path: str) -> list[int]:
    """Copy the ``wanted`` rows to ``path`` (over-long lines are left out: they cost
    nothing); returns the indices copied."""
    reader = LineReader(open_input(config.inputs), max_line_bytes=config.max_line_bytes)
    used: list[int] = []
    try:
        with open(path, "wb") as out:
            while rows := reader.read(_READ):
                for row in rows:
                    if row.index in wanted and row.raw is not None:
                        out.write(row.raw + b"\n")
                        used.append(row.index)
    finally:
        reader.close()
    return used


@dataclasses.dataclass(frozen=True, slots=True)
class Projection:
    """The whole input's cost and time, projected from a sample."""

    total_rows: int
    sample_rows: int
    indices: list[int]
    cost_usd: float
    cost_low_usd: float
    cost_high_usd: float
    per_row_usd: float
    calls_per_row: float
    tokens_per_row: float
    latency_s: float
    time_s: float
    time_low_s: float
    time_high_s: float
    bound_by: str
    startup_s: float
    unpriced_requests: int
    unpriced_models: list[str]

    def to_json(self) -> dict[str, Any]:
        """The estimate as JSON (``BatchResult.summary`` of an ``--estimate`` run)."""
        out = dataclasses.asdict(self)
        for key, value in out.items():
            if isinstance(value, float):
                out[key] = round(value, 10 if key.endswith("usd") else 3)
        return {"status": "estimate", "exit_code": EXIT_OK, "estimate": out}


def _mean_se(values: Sequence[float]) -> tuple[float, float]:
    n = len(values)
    if not n:
        return 0.0, 0.0
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def _row_cost(row: dict[str, Any], prices: Any) -> tuple[float, int, int, float]:
    """(USD, calls, tokens, seconds) of one output row; an OpenAI row is priced from its
    body (its format has no cost field)."""
    usage = row.get("usage")
    if isinstance(usage, dict):
        return (
            float(usage.get("cost_usd") or 0.0),
            int(usage.get("requests") or 0),
            int(usage.get("total_tokens") or 0),
            float(row.get("elapsed_s") or 0.0),
        )
    body = (row.get("response") or {}).get("body")
    if not isinstance(body, dict) or not isinstance(body.get("usage"), dict):
        return 0.0, 0, 0, 0.0
    from ..pricing import TokenUsage

    tokens = TokenUsage.from_wire(body["usage"])
    cost = prices.cost(str(body.get("model") or ""), tokens)
    return cost.usd, 1, tokens.prompt_tokens + tokens.completion_tokens, 0.0


def project(
    config: BatchConfig,
    total: int,
    indices: list[int],
    rows: list[dict[str, Any]],
    summary: dict[str, Any],
) -> Projection:
    """The whole input projected from the sample's output ``rows`` and ``summary``."""
    from ..pricing import Prices, parse_price

    prices = Prices([parse_price(p) for p in config.prices or ()])
    measured = [_row_cost(row, prices) for row in rows]
    costs = [m[0] for m in measured]
    n = max(len(rows), 1)
    cost = summary.get("cost") or {}
    spent = max(float(cost.get("usd") or 0.0), sum(costs))  # error rows' calls included
    per_row = spent / n
    _, cost_se = _mean_se(costs)
    run = summary.get("this_run") or {}
    calls = (run.get("llm_calls") or sum(m[1] for m in measured)) / n
    tokens = (run.get("tokens") or sum(m[2] for m in measured)) / n
    latency, latency_se = _mean_se([m[3] for m in measured if m[3] > 0])
    limit = summary.get("rate_limit") or {}
    rpm = limit.get("rpm") or config.rpm
    tpm = limit.get("tpm") or config.tpm
    slots = max(config.workers, 1) * config.concurrency

    def bounds(factor: float) -> dict[str, float]:
        out = {"concurrency": total * max(latency + factor * latency_se, 0.0) / slots}
        if rpm:
            out[f"--rpm {rpm:,}"] = total * calls * 60.0 / rpm
        if tpm:
            out[f"--tpm {tpm:,}"] = total * tokens * 60.0 / tpm
        return out

    mid = bounds(0.0)
    bound_by = max(mid, key=lambda k: mid[k])
    startup = float((summary.get("startup") or {}).get("total_s") or 0.0)
    return Projection(
        total_rows=total,
        sample_rows=len(rows),
        indices=indices,
        cost_usd=per_row * total,
        cost_low_usd=max(per_row - 2 * cost_se, 0.0) * total,
        cost_high_usd=(per_row + 2 * cost_se) * total,
        per_row_usd=per_row,
        calls_per_row=calls,
        tokens_per_row=tokens,
        latency_s=latency,
        time_s=startup + mid[bound_by],
        time_low_s=startup + max(bounds(-2.0).values()),
        time_high_s=startup + max(bounds(2.0).values()),
        bound_by=bound_by,
        startup_s=startup,
        unpriced_requests=int(cost.get("unpriced_requests") or 0),
        unpriced_models=list(cost.get("unpriced_models") or ()),
    )


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def report(p: Projection, endpoint: str) -> str:
    """The estimate in words (stderr)."""
    shown = ", ".join(str(i) for i in p.indices)
    lines = [
        f"fastcrew batch --estimate: an ESTIMATE, not a run — {p.sample_rows:,} of "
        f"{p.total_rows:,} rows run on {endpoint} (no output written)",
        f"  rows sampled (input indices): {shown}",
        f"  cost: ~{money(p.cost_usd)} for all {p.total_rows:,} rows (range "
        f"{money(p.cost_low_usd)} - {money(p.cost_high_usd)}: the sample's mean ± 2 standard "
        "errors)",
        f"  per row: {money(p.per_row_usd)}, {p.calls_per_row:.1f} LLM calls, "
        f"{p.tokens_per_row:,.0f} tokens, {p.latency_s:.2f} s",
        f"  time: ~{_duration(p.time_s)} (range {_duration(p.time_low_s)} - "
        f"{_duration(p.time_high_s)}), bound by {p.bound_by}; worker start-up "
        f"{p.startup_s:.1f} s included",
    ]
    if p.unpriced_requests:
        models = ", ".join(p.unpriced_models) or "unknown models"
        lines.append(
            f"  unpriced: {p.unpriced_requests:,} of the sample's calls ({models}) counted $0 — "
            "the cost is too low by theirs; give --price MODEL=IN/OUT"
        )
    return "\n".join(lines)


def run_estimate(config: BatchConfig, execute: Callable[[BatchConfig], BatchResult]) -> BatchResult:
    """Run ``config.estimate`` sampled rows with ``execute`` in a temporary directory and
    report the projection (exit 0); a sample run that stops early exits as it did."""
    assert config.estimate is not None
    if config.inputs == STDIN:
        raise ConfigurationError(
            "--estimate reads the input twice (to count it, then to sample it): give a file, "
            "not stdin"
        )
    total = _count(config)
    if not total:
        raise ConfigurationError(f"--estimate: {config.inputs} holds no rows")
    with tempfile.TemporaryDirectory(prefix="fastcrew-estimate-") as tmp:
        sample_path = os.path.join(tmp, "sample.jsonl")
        indices = _sample(config, set(pick(total, config.estimate)), sample_path)
        sample = dataclasses.replace(
            config,
            inputs=sample_path,
            output=os.path.join(tmp, "sample.out.jsonl"),
            estimate=None,
            max_cost=None,
            restart=True,
            resume=False,
            retry_failed=False,
            quiet=True,
        )
        if not config.quiet:
            print(
                f"fastcrew batch --estimate: running {len(indices):,} of {total:,} rows "
                f"(input indices {', '.join(map(str, indices))})",
                file=sys.stderr,
                flush=True,
            )
        result = execute(sample)
        rows = []
        if os.path.exists(sample.output):
            with open(sample.output, "rb") as f:
                rows = [json.loads(line) for line in f if line.strip()]
    if result.status != "complete":
        message = result.summary.get("stop_message") or result.status
        print(f"fastcrew batch --estimate: the sample run stopped: {message}", file=sys.stderr)
        return result
    projection = project(config, total, indices, rows, result.summary)
    endpoint = "the simulator" if config.simulate else (config.base_url or "the provider")
    if not config.quiet:
        print(report(projection, endpoint), file=sys.stderr, flush=True)
    return BatchResult("estimate", EXIT_OK, config.output, 0, 0, projection.to_json())
