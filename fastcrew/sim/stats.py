"""Counters of the chat endpoint, cheap to update and snapshotted as ``GET /sim/stats``.

The top-level counters are the chat requests of every wire (``POST /v1/chat/completions``,
Azure's deployment path, Anthropic's ``POST /v1/messages``; ``by_wire`` splits them); the
Files and Batch APIs are counted under ``batch`` (batch requests never reach the chat
counters or the rate limits), ``POST /v1/embeddings`` under the ``embedding_*`` keys (its
requests share the rate limits, never the chat counters).
``in_flight`` is live state: a reset keeps it and restarts ``peak_in_flight`` from it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .answers import Answer

__all__ = ["BATCH_ENDS", "FAULTS", "WIRES", "SimStats"]

FAULTS = ("fail", "reset", "stall", "malformed")
WIRES = ("openai", "azure", "anthropic")
BATCH_ENDS = ("completed", "failed", "expired", "cancelled")


class SimStats:
    """Request counters; ``clock`` is monotonic seconds (injectable for tests)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.in_flight = 0
        self.reset()

    def reset(self) -> None:
        """Zero every counter and restart the per-second series."""
        self.requests_total = 0
        self.by_status: dict[int, int] = {}
        self.rate_limited = {"requests": 0, "tokens": 0}
        self.quota_rejected = 0
        self.faults = dict.fromkeys(FAULTS, 0)
        self.overloaded = 0
        self.content_filtered = 0
        self.cache_creation_tokens = 0
        self.cache_read_tokens = 0
        self.by_wire = dict.fromkeys(WIRES, 0)
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.tool_call_answers = 0
        self.tool_calls = 0
        self.tool_results = 0
        self.react_actions = 0
        self.admitted_total = 0
        self.admitted_per_second: list[int] = []
        self.peak_in_flight = self.in_flight
        self.batch: dict[str, Any] = {
            "files_uploaded": 0,
            "file_bytes_uploaded": 0,
            "batches_created": 0,
            "batches_finished": dict.fromkeys(BATCH_ENDS, 0),
            "requests_completed": 0,
            "requests_failed": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
        }
        self.embedding_requests = 0
        self.embedding_inputs = 0
        self.embedding_tokens = 0
        self.embedding_by_status: dict[int, int] = {}
        self.embedding_rate_limited = {"requests": 0, "tokens": 0}
        self.embedding_faults = dict.fromkeys((*FAULTS, "overloaded"), 0)
        self.started_at = time.time()
        self.start = self.clock()

    def enter(self, wire: str = "openai") -> None:
        """A chat request arrived (on ``wire``: openai, azure or anthropic)."""
        self.requests_total += 1
        self.by_wire[wire] += 1
        self.in_flight += 1
        if self.in_flight > self.peak_in_flight:
            self.peak_in_flight = self.in_flight

    def leave(self) -> None:
        """A chat request is finished (answered, refused, dropped or cancelled)."""
        self.in_flight -= 1

    def status(self, code: int) -> None:
        """A response with status ``code`` was sent."""
        self.by_status[code] = self.by_status.get(code, 0) + 1

    def admitted(self) -> None:
        """A request passed the quota and rate-limit checks."""
        self.admitted_total += 1
        second = int(self.clock() - self.start)
        series = self.admitted_per_second
        if second >= len(series):
            series.extend([0] * (second + 1 - len(series)))
        series[second] += 1

    def answered(self, prompt_tokens: int, answer: Answer) -> None:
        """A 200 answer was sent: its usage, tool calls and the tool results it read."""
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += answer.completion_tokens
        if answer.tool_calls:
            self.tool_call_answers += 1
            self.tool_calls += len(answer.tool_calls)
        if answer.tool_results:
            self.tool_results += answer.tool_results
        if answer.react_action:
            self.react_actions += 1

    def embedding_status(self, code: int) -> None:
        """An embeddings response with status ``code`` was sent."""
        self.embedding_by_status[code] = self.embedding_by_status.get(code, 0) + 1

    def embedded(self, inputs: int, tokens: int) -> None:
        """An embeddings request of ``inputs`` inputs and ``tokens`` tokens was answered."""
        self.embedding_inputs += inputs
        self.embedding_tokens += tokens

    def batch_file_uploaded(self, size: int) -> None:
        """A file of ``size`` bytes was uploaded."""
        self.batch["files_uploaded"] += 1
        self.batch["file_bytes_uploaded"] += size

    def batch_created(self) -> None:
        """A batch was created."""
        self.batch["batches_created"] += 1

    def batch_finished(
        self, status: str, completed: int, failed: int, prompt: int, completion: int
    ) -> None:
        """A batch reached its final ``status``: its output and error lines, its usage."""
        batch = self.batch
        batch["batches_finished"][status] += 1
        batch["requests_completed"] += completed
        batch["requests_failed"] += failed
        batch["prompt_tokens"] += prompt
        batch["completion_tokens"] += completion

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of every counter."""
        return {
            "requests_total": self.requests_total,
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "rate_limited": dict(self.rate_limited),
            "quota_rejected": self.quota_rejected,
            "faults": dict(self.faults),
            "overloaded": self.overloaded,
            "content_filtered": self.content_filtered,
            "by_wire": dict(self.by_wire),
            "cache_creation_input_tokens": self.cache_creation_tokens,
            "cache_read_input_tokens": self.cache_read_tokens,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "tool_call_answers": self.tool_call_answers,
            "tool_calls": self.tool_calls,
            "tool_results": self.tool_results,
            "react_actions": self.react_actions,
            "admitted": self.admitted_total,
            "in_flight": self.in_flight,
            "peak_in_flight": self.peak_in_flight,
            "admitted_per_second": list(self.admitted_per_second),
            "started_at": self.started_at,
            "uptime_s": round(self.clock() - self.start, 6),
            "batch": {**self.batch, "batches_finished": dict(self.batch["batches_finished"])},
            "embedding_requests": self.embedding_requests,
            "embedding_inputs": self.embedding_inputs,
            "embedding_tokens": self.embedding_tokens,
            "embedding_by_status": {str(k): v for k, v in sorted(self.embedding_by_status.items())},
            "embedding_rate_limited": dict(self.embedding_rate_limited),
            "embedding_faults": dict(self.embedding_faults),
        }
