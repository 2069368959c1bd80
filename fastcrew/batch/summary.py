"""The end-of-run summary: a dict (written as ``<output>.summary.json``) and its text form."""

from __future__ import annotations

import os
from typing import Any

from .._json import dumps
from .spending import cost_line

__all__ = ["format_startup", "format_summary", "rate_limit_line", "write_summary"]


def share(used: float, per_minute: float | None, elapsed_s: float) -> float | None:
    """``used`` as a fraction of what ``per_minute`` allows over ``elapsed_s``."""
    if not per_minute or elapsed_s <= 0:
        return None
    return round(used / (per_minute * elapsed_s / 60.0), 4)


def write_summary(path: str, summary: dict[str, Any]) -> None:
    """Write the summary JSON (atomically: a reader never sees half of it)."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(dumps(summary) + b"\n")
    os.replace(tmp, path)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def format_startup(startup: dict[str, Any]) -> str:
    """The ``worker start-up`` line: the slowest worker's phases (the summary's ``startup``)."""
    parts = []
    if startup.get("python_s") is not None:
        parts.append(f"python + fastcrew {startup['python_s']:.1f} s")
    if startup.get("import_s") is not None:
        names = ", ".join(startup.get("imported", [])[:3])
        parts.append(
            f"{startup.get('kind') or 'crew'} module import {startup['import_s']:.1f} s"
            + (f": {names}" if names else "")
        )
    if startup.get("build_s") is not None:
        parts.append(f"build {startup['build_s']:.1f} s")
    detail = f" ({', '.join(parts)})" if parts else ""
    return f"  worker start-up: {startup['total_s']:.1f} s{detail}"


def rate_limit_line(limit: dict[str, Any]) -> str | None:
    """How much of the run's rate limits it used: the limits given (``--rpm`` / ``--tpm``,
    the LLMs' own) or learned from the provider's headers (Anthropic's ``--itpm`` /
    ``--otpm`` named, not measured); None when the run knew of none (no line rather than
    dashes)."""
    parts = []
    if limit.get("rpm"):
        parts.append(f"requests {_pct(limit.get('requests_share'))} of {limit['rpm']:,} rpm")
    if limit.get("tpm"):
        parts.append(f"tokens {_pct(limit.get('tokens_share'))} of {limit['tpm']:,} tpm")
    parts.extend(f"{limit[name]:,} {name}" for name in ("itpm", "otpm") if limit.get(name))
    return f"  rate limit used: {', '.join(parts)}" if parts else None


def format_summary(s: dict[str, Any]) -> str:
    """Human-readable lines for stderr."""
    rows = s["rows"]
    run = s["this_run"]
    lines = [
        f"fastcrew batch {s['status']} (exit code {s['exit_code']}): {s['output']}",
        f"  rows: {rows['ok']:,} ok, {rows['error']:,} error, {rows['written']:,} written"
        + (f" of {rows['total']:,}" if rows.get("total") is not None else ""),
        f"  this run: {run['rows']:,} rows in {run['elapsed_s']:,.1f} s "
        f"({run['rows_per_s']:,.1f} rows/s); {run['llm_calls']:,} LLM calls, "
        f"{run['tokens']:,} tokens, {run['rate_limited_429']:,} 429s, {run['retries']:,} retries",
    ]
    used = rate_limit_line(s.get("rate_limit") or {})
    if used:
        lines.append(used)
    cost = cost_line(s.get("cost") or {})
    if cost:
        lines.append(cost)
    if run.get("worker_deaths"):
        lines.append(
            f"  worker deaths: {run['worker_deaths']:,}; {run['redispatched_rows']:,} rows "
            f"dispatched again, {run.get('rows_repaid', 0):,} of them re-paid (already started)"
        )
    cache = s.get("cache")
    if cache:
        lines.append(
            f"  cache: {cache['hits']:,} hits (no request, ${cache['saved_usd']:,.4f} saved), "
            f"{cache['misses']:,} misses ({cache['path']})"
        )
    if s.get("startup"):
        lines.append(format_startup(s["startup"]))
    api = s.get("batch_api")
    if api:
        lines.append(
            f"  batch api: {api['rounds']:,} rounds, {api['jobs']:,} jobs, {api['requests']:,} "
            f"requests ({api['deduped']:,} identical calls shared, {api['store_hits']:,} "
            f"answered from earlier runs), {api['retried']:,} retried, {api['failed']:,} failed"
        )
    ray = s.get("ray")
    if ray:
        nodes = ", ".join(
            f"{n['address']} {n['node_id'][:8]} ({n['workers']} workers, {n['rows']:,} rows)"
            for n in ray["nodes"]
        )
        lines.append(f"  ray {ray['address']} ({ray['transport']}): {nodes or 'no nodes'}")
    if s.get("stop_message"):
        lines.append(f"  stopped: {s['stop_message']}")
    if s.get("resumable"):
        lines.append("  resumable: run the same command again to continue")
    return "\n".join(lines)
