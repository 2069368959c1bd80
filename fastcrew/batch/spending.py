"""What a batch run cost, as the progress line, the summary and ``--max-cost``'s stop say it
(the numbers are :class:`~fastcrew.batch.supervisor.spend.Spend`'s; docs/cost.md)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # summary.py sits below the supervisor: no import of it at run time
    from .config import BatchConfig
    from .supervisor.spend import Spend
    from .supervisor.supervisor import Supervisor

__all__ = [
    "budget_message",
    "cost_line",
    "cost_section",
    "money",
    "previous_cost",
    "progress_cost",
]


def money(usd: float) -> str:
    """``$1,234.57``, ``$0.0123``, ``$0.000042``: enough digits to tell small runs apart."""
    if usd >= 100:
        return f"${usd:,.2f}"
    if usd >= 0.01:
        return f"${usd:.4f}"
    return f"${usd:.6f}"


def previous_cost(summary_path: str) -> float:
    """What the earlier runs on this output spent, as their last summary recorded it (0 when
    there is none, or it predates costs)."""
    try:
        with open(summary_path, "rb") as f:
            earlier = json.load(f)
        return float((earlier.get("cost") or {}).get("all_runs_usd") or 0.0)
    except (OSError, ValueError, TypeError, AttributeError):
        return 0.0


def progress_cost(spend: Spend, run_rows: int, total: int | None, done: int) -> str:
    """The progress line's cost: spent so far, and (after a few rows, the input's size
    known) the projection for the rest: ``$0.0123, ~$0.5100 ($0.4800-$0.5400) at the end``."""
    spent = spend.spent
    if not spent and not spend.rows_unpriced:
        return ""
    text = money(spent)
    if total and total > done:
        found = spend.projection(run_rows, total - done)
        if found is not None:
            low, mid, high = found
            text += f", ~{money(mid)} ({money(low)}-{money(high)}) at the end"
    if spend.rows_unpriced:
        text += f" ({spend.rows_unpriced:,} calls unpriced)"
    return text


def cost_section(s: Supervisor | None, config: BatchConfig, prior_usd: float) -> dict[str, Any]:
    """The summary's ``cost``: this run's spend, the earlier runs' and the cap."""
    spent = s.spend.spent if s is not None else 0.0
    counters = s.counters if s is not None else None
    return {
        "usd": round(spent, 10),
        "rows_usd": round(s.spend.rows_usd, 10) if s is not None else 0.0,
        "all_runs_usd": round(prior_usd + spent, 10),
        "unpriced_requests": counters.worker_total("unpriced_requests") if counters else 0,
        "unpriced_models": counters.unpriced_models() if counters else [],
        "max_cost_usd": config.max_cost,
        "prices": list(config.prices or ()),
    }


def budget_message(spend: Spend, rows_done: int, rows: dict[str, Any]) -> str:
    """``--max-cost``'s stop message: what was spent, what is left, how to go on."""
    assert spend.cap is not None
    total = rows.get("total")
    left = f"{total - rows_done:,} rows not started" if total is not None else "rows not started"
    return (
        f"spent {money(spend.spent)} of the {money(spend.cap)} cap (--max-cost); {left}; "
        "re-run to continue (the cap counts each run's own spend: --max-cost USD allows USD "
        "more)"
    )


def cost_line(cost: dict[str, Any]) -> str | None:
    """The summary's ``cost:`` line on stderr (None for a run that priced nothing)."""
    if not cost:
        return None
    parts = [f"  cost: {money(cost['usd'])} this run"]
    if cost.get("max_cost_usd") is not None:
        parts.append(f" of the {money(cost['max_cost_usd'])} cap")
    if cost.get("all_runs_usd", 0) > cost["usd"]:
        parts.append(f" ({money(cost['all_runs_usd'])} with earlier runs)")
    unpriced = cost.get("unpriced_requests") or 0
    if unpriced:
        models = ", ".join(cost.get("unpriced_models") or ()) or "unknown models"
        parts.append(
            f"; {unpriced:,} calls unpriced: {models} (counted $0; give --price MODEL=IN/OUT)"
        )
    return "".join(parts)
