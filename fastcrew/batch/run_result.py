"""A batch run's :class:`~fastcrew.batch.config.BatchResult`: its exit code and its summary
(what ``<output>.summary.json`` holds), from the plan and the supervisor's counters."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..process_runtime import CapSpec
from .cached import cache_section
from .config import (
    EXIT_AUTH,
    EXIT_BAD_INPUT,
    EXIT_BUDGET,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_QUOTA,
    EXIT_ROW_ERRORS,
    EXIT_STORAGE,
    EXIT_UNREACHABLE,
    EXIT_WORKERS_FAILED,
    BatchConfig,
    BatchResult,
)
from .spending import budget_message, cost_section
from .startup import slowest
from .summary import share

if TYPE_CHECKING:
    from .storage.plan import Plan
    from .supervisor.supervisor import Supervisor

__all__ = ["EXIT_BY_STATUS", "run_result", "unwritable_result"]

EXIT_BY_STATUS = {
    "interrupted": EXIT_INTERRUPTED,
    "quota_exhausted": EXIT_QUOTA,
    "bad_input": EXIT_BAD_INPUT,
    "workers_failed": EXIT_WORKERS_FAILED,
    "storage_error": EXIT_STORAGE,
    "auth_failed": EXIT_AUTH,
    "provider_unreachable": EXIT_UNREACHABLE,
    "budget_exhausted": EXIT_BUDGET,
}
"""The exit code of each way a run stops early."""


def unwritable_result(config: BatchConfig, message: str) -> BatchResult:
    """``storage_error`` (exit 74) before the run started: the files could not be made."""
    summary: dict[str, Any] = {
        "status": "storage_error",
        "exit_code": EXIT_STORAGE,
        "resumable": True,
        "input": config.inputs,
        "output": config.output,
        "stop_message": message,
    }
    return BatchResult("storage_error", EXIT_STORAGE, config.output, 0, 0, summary)


_PER_MINUTE = {"requests": "rpm", "tokens": "tpm", "input_tokens": "itpm", "output_tokens": "otpm"}


def run_result(
    config: BatchConfig,
    plan: Plan,
    s: Supervisor | None,
    status: str,
    *,
    elapsed_s: float,
    prior_cost: float,
    backend: Any,
) -> BatchResult:
    """The result of a run that ended with ``status`` (``s`` None: it never started, the
    output was complete); ``elapsed_s`` is the whole call's, ``prior_cost`` what earlier runs
    on this output spent, ``backend`` the Ray backend (None: local workers)."""
    ok = plan.prior_ok + (s.counters.rows_ok if s else 0)
    error = plan.prior_error + (s.counters.rows_error if s else 0)
    if status == "complete":
        code = EXIT_ROW_ERRORS if error else EXIT_OK
    else:
        code = EXIT_BY_STATUS.get(status, EXIT_INTERRUPTED)
    c = s.counters if s else None
    d = s.dispatcher if s else None
    run_rows = (c.rows_ok + c.rows_error) if c else 0
    calls = c.worker_total("calls") if c else 0
    per_minute: dict[str, int | None] = dict.fromkeys(_PER_MINUTE.values())
    if s is not None and s.budgets is not None:
        for key, state in s.budgets.keys.items():
            if isinstance(key, CapSpec):
                continue  # a max_rpm cap, not the endpoint's limit
            for kind, bucket in state.budget.buckets():
                if bucket is not None:
                    per_minute[_PER_MINUTE[kind]] = round(bucket.rate * 60)
    rpm, tpm = per_minute["rpm"], per_minute["tpm"]
    run_elapsed = (time.monotonic() - c.started) if c else 0.0
    written = s.writer.next if s else (plan.total_rows or 0)
    summary: dict[str, Any] = {
        "status": status,
        "exit_code": code,
        "resumable": status != "complete",
        "input": config.inputs,
        "output": config.output,
        "simulated": config.simulate is not None,
        "rows": {
            "ok": ok,
            "error": error,
            "written": written,
            "total": (s.reader.index if s and s.eof else plan.total_rows),
        },
        "this_run": {
            "rows": run_rows,
            "ok": c.rows_ok if c else 0,
            "error": c.rows_error if c else 0,
            "skipped_done": d.skipped if d else 0,
            "elapsed_s": round(run_elapsed, 3),
            "rows_per_s": round(run_rows / run_elapsed, 2) if run_elapsed > 0 else 0.0,
            "llm_calls": calls,
            "tokens": c.tokens if c else 0,
            "rate_limited_429": c.worker_total("rate_limited") if c else 0,
            "retries": c.worker_total("retries") if c else 0,
            "worker_deaths": c.worker_deaths if c else 0,
            "redispatched_rows": d.redispatched if d else 0,
            "rows_repaid": d.repaid if d else 0,
        },
        "rate_limit": {
            "rpm": rpm,
            "tpm": tpm,
            "requests_share": share(calls, rpm, run_elapsed),
            "tokens_share": share(c.tokens if c else 0, tpm, run_elapsed),
            "itpm": per_minute["itpm"],
            "otpm": per_minute["otpm"],
        },
        "workers": config.workers,
        "concurrency": config.concurrency,
        "reorder_window": config.reorder_window,
        "reorder_peak": s.writer.peak if s else 0,
        "elapsed_s": round(elapsed_s, 3),
        "stop_message": s.stop_message if s else None,
        "backend": config.backend,
        "startup": slowest(
            c.startup.values() if c else (),
            "crew" if config.crew is not None else "flow" if config.flow is not None else None,
        ),
    }
    summary["cost"] = cost_section(s, config, prior_cost)
    if status == "budget_exhausted" and s is not None:
        summary["stop_message"] = budget_message(s.spend, ok + error, summary["rows"])
    if config.cache is not None:
        hits, misses, saved = (
            (c.worker_total("cache_hits"), c.worker_total("cache_misses"),
             c.worker_total("saved_usd")) if c else (0, 0, 0.0)
        )  # fmt: skip
        summary["cache"] = cache_section(config.cache, hits, misses, saved)
    if backend is not None:
        summary["ray"] = backend.summary()
    if s is not None and s.deferred is not None:
        summary["batch_api"] = s.deferred.summary()
    return BatchResult(status, code, config.output, ok, error, summary)
