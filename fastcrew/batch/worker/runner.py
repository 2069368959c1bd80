"""Running one row in a worker: parse the line, run the crew or the flow (or send the OpenAI
batch request), serialise the output row."""

from __future__ import annotations

import asyncio
import hashlib
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ...errors import InputError, QuotaExhaustedError
from ...llm import LLM, UsageMeter, metered
from ...memory.scopes import batch_row
from ...runtime import Crew, CrewOutput, CrewStreamingOutput
from ..config import WorkerConfig
from ..crewspec import build_crew, import_crew
from ..duplicates import unmark
from ..rows import (
    BAD,
    BATCH_URL,
    ERROR,
    OK,
    LineError,
    completion_body,
    duplicate_row,
    error_info,
    error_row,
    id_text,
    is_openai_line,
    ok_row,
    openai_error_row,
    openai_ok_row,
    parse_line,
    usage_dict,
)
from ..startup import new_packages, timed
from ..wire.messages import RowResult

if TYPE_CHECKING:  # a crew batch never imports flows (sqlite3 and all): ~25 % of a worker's start
    from ...flow import Flow, SQLiteFlowPersistence

__all__ = ["RowRunner", "crew_output", "row_state_id"]

Cost = tuple[int, int, float, int]
"""(LLM requests, tokens, USD, unpriced requests)."""
Outcome = tuple[int, bytes, Cost]
"""(kind, serialised row, what it cost)."""
NOTHING: Cost = (0, 0, 0.0, 0)


_ROW_IDS = uuid.UUID("6f1c3a52-8d0e-4f4b-9a57-3f0c2b1d9e10")
"""The namespace of flow rows' default state ids."""


def row_state_id(index: int, raw: bytes) -> str:
    """A flow row's state ``id`` when its input has none: a UUID of the row's index and line,
    the same in every run (so resumed and uninterrupted outputs are identical)."""
    digest = hashlib.blake2b(raw, digest_size=16).hexdigest()
    return str(uuid.uuid5(_ROW_IDS, f"{index}:{digest}"))


def _message_with_notes(message: str, exc: BaseException) -> str:
    """The message plus the exception's notes (a flow names the failing method there)."""
    notes = [n for n in getattr(exc, "__notes__", ()) if isinstance(n, str)]
    return "\n".join([message, *notes])


def _meter_usage(meter: UsageMeter) -> dict[str, int | float]:
    return usage_dict(
        meter.requests,
        meter.prompt_tokens,
        meter.completion_tokens,
        meter.total_tokens,
        meter.cached_prompt_tokens,
        meter.retries,
        meter.cost_usd,
        meter.unpriced_requests,
    )


def _dump(model: Any) -> Any:
    return None if model is None else model.model_dump(mode="json")


def crew_output(out: CrewOutput) -> dict[str, Any]:
    """A row's ``output`` object."""
    return {
        "raw": out.raw,
        "json_dict": out.json_dict,
        "pydantic": _dump(out.pydantic),
        "tasks": [
            {
                "name": t.name,
                "agent": t.agent,
                "raw": t.raw,
                "json_dict": t.json_dict,
                "pydantic": _dump(t.pydantic),
            }
            for t in out.tasks_output
        ],
    }


class RowRunner:
    """Runs rows in one worker: the crew built once (a template shared by every row) or the
    flow class loaded once (a fresh instance per row), and one LLM per model for OpenAI batch
    lines. The environment (endpoint, simulator) is set before this is built."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.stops: tuple[type[Exception], ...] = (QuotaExhaustedError,)
        """Errors that leave the row unfinished (raised, not an error row); the worker sets
        them (:mod:`~fastcrew.batch.worker.stops`)."""
        self.crew: Crew | None = None
        self.flow: type[Flow[Any]] | None = None
        self.flow_store: SQLiteFlowPersistence | None = None
        # The start-up phases timed here (the rest in the worker; see batch/startup.py).
        self.startup: dict[str, Any] = {"import_s": None, "build_s": None, "imported": []}
        if config.crew is not None:
            spec = config.crew
            target = self._import(lambda: import_crew(spec) if isinstance(spec, str) else spec)
            # simulated: its LLMs follow the redirect
            self.crew, self.startup["build_s"] = timed(lambda: build_crew(target, spec))
        elif config.flow is not None:
            target = self._import(self._import_flow)
            self.flow, self.startup["build_s"] = timed(lambda: self._build_flow(target))
        self._llms: dict[str | None, LLM] = {}
        if self.crew is None and self.flow is None:
            self._llm(config.model)  # fail now if no LLM is configured

    async def aprepare(self) -> None:
        """Index the crew's knowledge (``Crew.aprepare_knowledge``) before any row starts,
        so rows never race it; with the collection's lock, workers embed each chunk once
        in all, and a resumed run embeds nothing."""
        if self.crew is not None:
            await self.crew.aprepare_knowledge()

    def _import(self, work: Callable[[], Any]) -> Any:
        """Run the crew or flow module's import, timed, noting the packages it brought in."""
        before = list(sys.modules)
        target, self.startup["import_s"] = timed(work)
        self.startup["imported"] = new_packages(before)
        return target

    def _import_flow(self) -> Any:
        """The flow engine (its first use in a worker) and the ``--flow`` module's import."""
        from ...flow.rows import import_flow

        assert self.config.flow is not None
        return import_flow(self.config.flow)

    def _build_flow(self, target: Any) -> type[Flow[Any]]:
        """The checked Flow class; its row store opened if the class uses ``@persist``."""
        from ...flow import SQLiteFlowPersistence, as_flow_class
        from ...flow.persistence.recorder import is_persisted

        assert self.config.flow is not None
        flow = as_flow_class(target, self.config.flow)
        if self.config.flow_store and is_persisted(flow):
            self.flow_store = SQLiteFlowPersistence(self.config.flow_store)
        return flow

    def _llm(self, model: str | None) -> LLM:
        llm = self._llms.get(model)
        if llm is None:
            cfg = self.config
            llm = self._llms[model] = LLM(
                model or cfg.model, base_url=cfg.base_url, api_key=cfg.api_key
            )
        return llm

    async def run(self, index: int, line: int, raw: bytes, attempts: int) -> RowResult:
        """One row → its :class:`~fastcrew.batch.wire.messages.RowResult`. Raises the
        errors of ``stops`` (the row stays unfinished: quota, a refused key, ...) and
        CancelledError; any other failure, even one building the row (an output JSON cannot
        hold), is an error row: a row is never lost."""
        raw, first = unmark(raw)
        try:
            kind, row, cost = await self._run(index, line, raw, attempts, first)
        except self.stops:
            raise
        except Exception as exc:
            try:
                obj = parse_line(raw)
            except LineError:
                obj = None
            type_, message, extra = error_info(exc)
            if obj is not None and is_openai_line(obj):
                custom_id = id_text(obj, raw, "custom_id")
                row = openai_error_row(index, custom_id, exc, type_, message)
            else:
                row = error_row(index, obj, type_, message, line, attempts, extra, raw=raw)
            return RowResult(index, ERROR, row, 0, 0)
        return RowResult(index, kind, row, *cost)

    async def _run(
        self, index: int, line: int, raw: bytes, attempts: int, first: int | None
    ) -> Outcome:
        started = time.perf_counter()
        try:
            obj = parse_line(raw)
        except LineError as exc:
            return BAD, error_row(index, None, exc.type, exc.message, line, attempts), NOTHING
        if first is not None:  # the supervisor found its custom_id on an earlier line
            return BAD, duplicate_row(index, id_text(obj, raw, "custom_id"), first), NOTHING
        if is_openai_line(obj):
            return await self._openai(index, obj, raw)
        if self.crew is None and self.flow is None:
            message = "this line holds inputs, but no crew or flow was given (--crew / --flow)"
            return (
                ERROR,
                error_row(index, obj, "ConfigurationError", message, line, attempts, raw=raw),
                NOTHING,
            )
        meter = None
        try:
            if self.flow is not None:
                with metered() as meter:
                    output = await self._bounded(self._run_flow(index, raw, obj))
            else:
                out = await self._bounded(self._kickoff(index, obj))
        except self.stops:
            raise
        except Exception as exc:
            kind = BAD if isinstance(exc, InputError) else ERROR
            type_, message, extra = error_info(exc)
            if self.flow is not None:
                message = _message_with_notes(message, exc)
            elapsed = time.perf_counter() - started
            row = error_row(index, obj, type_, message, line, attempts, extra, elapsed, raw)
            return kind, row, NOTHING
        if meter is not None:
            elapsed = time.perf_counter() - started
            usage_of_row = self._cached(_meter_usage(meter), meter.cache_hits)
            row = ok_row(index, obj, output, usage_of_row, elapsed, raw)
            cost: Cost = (
                meter.requests,
                meter.total_tokens,
                meter.cost_usd,
                meter.unpriced_requests,
            )
            return OK, row, cost
        usage = out.token_usage
        row = ok_row(
            index,
            obj,
            crew_output(out),
            self._cached(
                usage_dict(
                    usage.successful_requests,
                    usage.prompt_tokens,
                    usage.completion_tokens,
                    usage.total_tokens,
                    usage.cached_prompt_tokens,
                    usage.retries,
                    usage.cost_usd,
                    usage.unpriced_requests,
                ),
                usage.cache_hits,
            ),
            time.perf_counter() - started,
            raw,
        )
        requests, tokens = usage.successful_requests, usage.total_tokens
        return OK, row, (requests, tokens, usage.cost_usd, usage.unpriced_requests)

    def _cached(self, usage: dict[str, Any], hits: int) -> dict[str, Any]:
        """A row's ``usage`` with its ``cache_hits`` (calls answered from ``--cache``)."""
        if self.config.cache is not None:
            usage["cache_hits"] = hits
        return usage

    async def _bounded(self, work: Awaitable[Any]) -> Any:
        """``work`` under ``--timeout`` (if any)."""
        if self.config.timeout is None:
            return await work
        async with asyncio.timeout(self.config.timeout):
            return await work

    async def _run_flow(self, index: int, raw: bytes, inputs: dict[str, Any]) -> dict[str, Any]:
        from ...flow import arun_flow

        assert self.flow is not None
        row_id = row_state_id(index, raw)
        # @persist flows save each row's progress under the row's id (unique per index and
        # line, whatever the input's "id"): a row cut off by a crash continues from there.
        with batch_row(index):  # the row's own memory scope, for the flow and its crews
            return await arun_flow(
                self.flow, inputs, state_id=row_id, persistence=self.flow_store, key=row_id
            )

    async def _kickoff(self, index: int, inputs: dict[str, Any]) -> CrewOutput:
        assert self.crew is not None
        with batch_row(index):  # the row's own memory scope (docs/memory.md)
            out = await self.crew.akickoff(inputs)
        if isinstance(out, CrewStreamingOutput):
            async for _ in out:
                pass
            out = out.result
        return out

    async def _openai(self, index: int, obj: dict[str, Any], raw: bytes) -> Outcome:
        """An OpenAI Batch-API line: the provider's answer, body and all, as its row."""
        custom_id = id_text(obj, raw, "custom_id")
        body = obj.get("body")
        method = str(obj.get("method", "POST")).upper()
        url = obj.get("url", BATCH_URL)
        problem = None
        if method != "POST" or url != BATCH_URL:
            problem = f"only POST {BATCH_URL} is supported, not {method} {url}"
        elif not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            problem = "the body must be an object with a 'messages' list"
        if problem is not None:
            bad = LineError("InvalidBatchRequest", problem)
            return BAD, openai_error_row(index, custom_id, bad, bad.type, problem), NOTHING
        assert isinstance(body, dict)
        skip = {"messages", "model", "stream", "stream_options", "response_format"}
        overrides = {k: v for k, v in body.items() if k not in skip}
        try:
            llm = self._llm(body.get("model"))
            resp = await self._bounded(
                llm.achat(
                    body["messages"], response_format=body.get("response_format"), **overrides
                )
            )
        except self.stops:
            raise
        except Exception as exc:
            type_, message, _ = error_info(exc)
            return ERROR, openai_error_row(index, custom_id, exc, type_, message), NOTHING
        usage = resp.usage
        if resp.raw is not None:
            out: bytes | dict[str, Any] = resp.raw
        else:
            wire_usage = {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
            }
            out = completion_body(
                resp.id, resp.model, resp.content, resp.finish_reason, wire_usage, resp.tool_calls
            )
        row = openai_ok_row(index, custom_id, out, resp.request_id, llm.api_key)
        # The row is OpenAI's format: its cost travels beside it (summary, --max-cost).
        return OK, row, (1, usage.total_tokens, usage.cost_usd, 0 if usage.priced else 1)
