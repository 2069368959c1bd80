"""OpenAI's Batch API in the simulator: ``/v1/batches`` (create, list), ``/v1/batches/{id}``
and ``/v1/batches/{id}/cancel``, in OpenAI's wire format.

**The time model.** A batch's status is a function of the clock (``time.time`` unless the
simulator is given another): with ``d = batch_delay`` seconds after ``created_at`` it is
``validating`` until ``0.1 d``, ``in_progress`` until ``0.9 d`` (``request_counts`` grow
linearly, in file order), ``finalizing`` until ``d``, then ``completed`` — or ``failed`` at
``0.1 d`` (invalid input file, or rejected), or ``expired`` at ``d`` (stopped at a drawn
share of the requests). A cancel gives ``cancelling`` and, ``0.1 d`` later, ``cancelled``.
With ``d = 0`` the create (and cancel) answer says ``validating`` (``cancelling``) and the
next look shows the end. The work (validation, answers) runs in a background task from the
creation on; a look that needs its result waits for it. The output and error files are
written when a client first sees the batch's final state.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .._json import JSONDecodeError, loads
from .batch_input import BatchRunner, Outcome, not_executed
from .config import SimConfig
from .files import FileStore, bad_request, check_auth, json_response, not_found, page, random_id
from .replies import error_body
from .stats import SimStats

__all__ = ["ACTIVE", "ENDPOINTS", "BatchStore"]

ENDPOINTS = ("/v1/chat/completions",)  # the batch endpoints the simulator serves
ACTIVE = ("validating", "in_progress", "finalizing")
VALIDATING, FINALIZING, CANCELLING = 0.1, 0.9, 0.1  # phase ends, as shares of batch_delay
WINDOW_S = 24 * 3600  # the only completion window: "24h"
MAX_METADATA = 16


@dataclass(slots=True, eq=False)
class Batch:
    """One batch: what was asked, when, and (once final) its frozen object."""

    id: str
    number: int
    input_file_id: str
    endpoint: str
    metadata: dict[str, str] | None
    created: float
    work: asyncio.Task[Outcome]
    cancel_at: float | None = None
    final: dict[str, Any] | None = None
    last_status: str = "validating"


def _check_metadata(value: Any) -> str | None:
    """Why ``metadata`` is invalid, or None."""
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > MAX_METADATA:
        return f"'metadata' must be an object of at most {MAX_METADATA} pairs."
    for key, item in value.items():
        if len(key) > 64 or not isinstance(item, str) or len(item) > 512:
            return "'metadata' keys must have at most 64 characters, values be strings of 512."
    return None


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }


class BatchStore:
    """The simulator's batches and the ``/v1/batches`` handlers."""

    def __init__(
        self,
        config: SimConfig,
        files: FileStore,
        runner: BatchRunner,
        stats: SimStats,
        clock: Callable[[], float],
        auth: bytes | None,
    ) -> None:
        self.delay = config.batch_delay
        self.files = files
        self.runner = runner
        self.stats = stats
        self.clock = clock
        self.auth = auth
        self.batches: dict[str, Batch] = {}  # in creation order
        self.created = 0

    def register(self, router: web.UrlDispatcher) -> None:
        """Add the routes."""
        router.add_post("/v1/batches", self._create)
        router.add_get("/v1/batches", self._list)
        router.add_get("/v1/batches/{batch_id}", self._retrieve)
        router.add_post("/v1/batches/{batch_id}/cancel", self._cancel)

    async def close(self) -> None:
        """Cancel the work still running."""
        pending = [b.work for b in self.batches.values() if not b.work.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    def live(self) -> dict[str, Any]:
        """Live counts for the stats: files stored, batches by last reported status."""
        by_status = Counter(b.last_status for b in self.batches.values())
        return {"files": self.files.count(), "batches_by_status": dict(sorted(by_status.items()))}

    # -- the batch object ------------------------------------------------------------------

    def _body(
        self, batch: Batch, status: str, outcome: Outcome | None, done: int, **fields: Any
    ) -> dict[str, Any]:
        """OpenAI's ``batch`` object with the first ``done`` requests run."""
        lines = outcome.lines[:done] if outcome is not None else []
        completed = sum(1 for line in lines if line.ok)
        prompt = sum(line.prompt_tokens for line in lines)
        completion = sum(line.completion_tokens for line in lines)
        total = len(outcome.lines) if outcome is not None else 0
        created = int(batch.created)
        body: dict[str, Any] = {
            "id": batch.id,
            "object": "batch",
            "endpoint": batch.endpoint,
            "model": outcome.model if outcome is not None else None,
            "errors": None,
            "input_file_id": batch.input_file_id,
            "completion_window": "24h",
            "status": status,
            "output_file_id": None,
            "error_file_id": None,
            "created_at": created,
            "in_progress_at": None,
            "expires_at": created + WINDOW_S,
            "finalizing_at": None,
            "completed_at": None,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": None,
            "request_counts": {"total": total, "completed": completed, "failed": done - completed},
            "usage": _usage(prompt, completion),
            "metadata": batch.metadata,
        }
        body.update(fields)
        batch.last_status = status
        return body

    def _at(self, batch: Batch, share: float) -> int:
        return int(batch.created + share * self.delay)

    def _done(self, batch: Batch, outcome: Outcome, when: float) -> int:
        """How many requests are run at time ``when`` (file order)."""
        total = len(outcome.lines)
        elapsed = when - batch.created - VALIDATING * self.delay
        span = (FINALIZING - VALIDATING) * self.delay
        share = 1.0 if span <= 0 else min(max(elapsed / span, 0.0), 1.0)
        if outcome.expire_fraction is not None:
            share = min(share, outcome.expire_fraction)
        return math.floor(total * share)

    async def _view(self, batch: Batch) -> dict[str, Any]:
        """The batch now (settling it into its final state when it has reached one)."""
        if batch.final is not None:
            return batch.final
        now, delay = self.clock(), self.delay
        elapsed = now - batch.created
        if batch.cancel_at is not None:
            outcome = await asyncio.shield(batch.work)
            if now >= batch.cancel_at + CANCELLING * delay:
                return self._settle(batch, "cancelled", outcome)
            return self._cancelling(batch, outcome)
        if elapsed < VALIDATING * delay:
            return self._body(batch, "validating", None, 0)
        outcome = await asyncio.shield(batch.work)
        if outcome.errors is not None or outcome.rejected:
            return self._settle(batch, "failed", outcome)
        total = len(outcome.lines)
        started = {"in_progress_at": self._at(batch, VALIDATING)}
        if outcome.expire_fraction is not None:
            if elapsed >= delay:
                return self._settle(batch, "expired", outcome)
            return self._body(
                batch, "in_progress", outcome, self._done(batch, outcome, now), **started
            )
        if elapsed < FINALIZING * delay:
            return self._body(
                batch, "in_progress", outcome, self._done(batch, outcome, now), **started
            )
        if elapsed < delay:
            stamps = {**started, "finalizing_at": self._at(batch, FINALIZING)}
            return self._body(batch, "finalizing", outcome, total, **stamps)
        return self._settle(batch, "completed", outcome)

    def _cancelling(self, batch: Batch, outcome: Outcome | None) -> dict[str, Any]:
        assert batch.cancel_at is not None
        done = 0 if outcome is None else self._done(batch, outcome, batch.cancel_at)
        stamps: dict[str, Any] = {"cancelling_at": int(batch.cancel_at)}
        if batch.cancel_at >= batch.created + VALIDATING * self.delay:
            stamps["in_progress_at"] = self._at(batch, VALIDATING)
        return self._body(batch, "cancelling", outcome, done, **stamps)

    def _settle(self, batch: Batch, status: str, outcome: Outcome) -> dict[str, Any]:
        """Freeze the final state: write the output and error files, count it."""
        stamps: dict[str, Any] = {}
        done = len(outcome.lines)
        if status == "failed":
            stamps["failed_at"] = self._at(batch, VALIDATING)
            if outcome.errors is not None:
                stamps["errors"] = {"object": "list", "data": outcome.errors}
            else:
                model = outcome.model or "the model"
                message = (
                    f"Enqueued token limit reached for {model} in organization org-fastcrew-sim. "
                    "Please try again once some in_progress batches have been completed."
                )
                error = {"code": "token_limit_exceeded", "message": message}
                stamps["errors"] = {
                    "object": "list",
                    "data": [{**error, "param": None, "line": None}],
                }
            done = 0
        else:
            stamps["in_progress_at"] = self._at(batch, VALIDATING)
        if status == "completed":
            stamps["finalizing_at"] = self._at(batch, FINALIZING)
            stamps["completed_at"] = self._at(batch, 1.0)
        elif status == "expired":
            stamps["expired_at"] = self._at(batch, 1.0)
            done = self._done(batch, outcome, batch.created + self.delay)
        elif status == "cancelled":
            assert batch.cancel_at is not None
            cancel_at = batch.cancel_at
            if cancel_at < batch.created + VALIDATING * self.delay:
                del stamps["in_progress_at"]
            stamps["cancelling_at"] = int(cancel_at)
            stamps["cancelled_at"] = int(cancel_at + CANCELLING * self.delay)
            done = (
                0 if outcome.errors or outcome.rejected else self._done(batch, outcome, cancel_at)
            )
        body = self._body(batch, status, outcome, done, **stamps)
        run = outcome.lines[:done]
        ok = [line.record for line in run if line.ok]
        errors = [line.record for line in run if not line.ok]
        if status in ("expired", "cancelled") and not (outcome.errors or outcome.rejected):
            code = "batch_expired" if status == "expired" else "batch_cancelled"
            errors += [not_executed(line.custom_id, code) for line in outcome.lines[done:]]
        for kind, records in (("output", ok), ("error", errors)):
            if records:
                name = f"{batch.id}_{kind}.jsonl"
                stored = self.files.add(name, "batch_output", b"\n".join(records) + b"\n")
                body[f"{kind}_file_id"] = stored.id
        body["request_counts"]["failed"] = len(errors)
        usage = body["usage"]
        self.stats.batch_finished(
            status, len(ok), len(errors), usage["input_tokens"], usage["output_tokens"]
        )
        batch.final = body
        return body

    # -- handlers --------------------------------------------------------------------------

    async def _create(self, request: web.Request) -> web.Response:
        if (refused := check_auth(request, self.auth)) is not None:
            return refused
        try:
            data = loads(await request.read())
        except JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            return bad_request("The request body must be a JSON object.")
        for name in ("input_file_id", "endpoint", "completion_window"):
            if not isinstance(data.get(name), str):
                return bad_request(f"Missing required parameter: '{name}'.", name)
        endpoint = data["endpoint"]
        if endpoint not in ENDPOINTS:
            message = f"Unsupported endpoint {endpoint!r}: fastcrew sim batches serve {ENDPOINTS}."
            return bad_request(message, "endpoint")
        if data["completion_window"] != "24h":
            window = data["completion_window"]
            message = f"Invalid 'completion_window': {window!r}; only '24h' is supported."
            return bad_request(message, "completion_window")
        metadata = data.get("metadata")
        if (problem := _check_metadata(metadata)) is not None:
            return bad_request(problem, "metadata")
        file_id = data["input_file_id"]
        stored = self.files.get(file_id)
        if stored is None:
            return not_found(f"No such File object: {file_id}", "input_file_id")
        if stored.purpose != "batch":
            message = f"The input file {file_id} must be uploaded with purpose 'batch'."
            return bad_request(message, "input_file_id")
        self.created += 1
        number = self.created
        work = asyncio.create_task(self.runner.run(stored.data, endpoint, number))
        batch = Batch(
            random_id("batch_", 32), number, file_id, endpoint, metadata, self.clock(), work
        )
        self.batches[batch.id] = batch
        self.stats.batch_created()
        return json_response(self._body(batch, "validating", None, 0))

    def _find(self, request: web.Request) -> Batch | web.Response:
        if (refused := check_auth(request, self.auth)) is not None:
            return refused
        batch_id = request.match_info["batch_id"]
        batch = self.batches.get(batch_id)
        if batch is None:
            return not_found(f"No batch found with id '{batch_id}'.", "batch_id")
        return batch

    async def _retrieve(self, request: web.Request) -> web.Response:
        found = self._find(request)
        if isinstance(found, web.Response):
            return found
        return json_response(await self._view(found))

    async def _cancel(self, request: web.Request) -> web.Response:
        found = self._find(request)
        if isinstance(found, web.Response):
            return found
        current = await self._view(found)
        status = current["status"]
        if status == "cancelling":
            return json_response(current)
        if status not in ACTIVE:
            body = error_body(
                f"Cannot cancel a batch with status '{status}'.", "invalid_request_error", None
            )
            return web.Response(status=409, body=body, content_type="application/json")
        found.cancel_at = self.clock()
        outcome = found.work.result() if found.work.done() else None
        return json_response(self._cancelling(found, outcome))

    async def _list(self, request: web.Request) -> web.Response:
        if (refused := check_auth(request, self.auth)) is not None:
            return refused
        items = [await self._view(b) for b in reversed(list(self.batches.values()))]
        result = page(items, request, 20, 100)
        return result if isinstance(result, web.Response) else json_response(result)
