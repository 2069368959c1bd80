"""Running one row in a worker: parse the line, run the crew (or send the OpenAI batch
request), serialise the output row."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ..errors import InputError, QuotaExhaustedError
from ..llm import LLM
from ..runtime import Crew, CrewOutput, CrewStreamingOutput
from .config import WorkerConfig
from .crewspec import load_crew
from .rows import (
    BAD,
    BATCH_URL,
    ERROR,
    OK,
    LineError,
    completion_body,
    error_info,
    error_row,
    is_openai_line,
    ok_row,
    openai_error_row,
    openai_ok_row,
    parse_line,
    usage_dict,
)

__all__ = ["RowRunner", "crew_output"]

RowResult = tuple[int, bytes, tuple[int, int]]
"""(kind, serialised row, (LLM requests, tokens))."""


def _point_at_simulator(crew: Crew, base_url: str) -> None:
    """With ``--simulate``, every agent talks to the simulator, whatever it was built with."""
    for agent in {
        id(a): a for a in [*crew.agents, *(t.agent for t in crew.tasks if t.agent)]
    }.values():
        llm = agent.llm
        if isinstance(llm, LLM) and llm.base_url != base_url:
            agent.llm = LLM(
                llm.model,
                base_url=base_url,
                temperature=llm.temperature,
                max_tokens=llm.max_tokens,
                timeout=llm.timeout,
                rate_limit=llm.rate_limit,
                retry=llm.retry,
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
    """Runs rows in one worker: the crew built once (a template shared by every row), and
    one LLM per model for OpenAI batch lines."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.crew: Crew | None = None
        if config.crew is not None:
            self.crew = load_crew(config.crew)
            if config.simulated and config.base_url:
                _point_at_simulator(self.crew, config.base_url)
        self._llms: dict[str | None, LLM] = {}
        if self.crew is None:
            self._llm(config.model)  # fail now if no LLM is configured

    def _llm(self, model: str | None) -> LLM:
        llm = self._llms.get(model)
        if llm is None:
            cfg = self.config
            llm = self._llms[model] = LLM(
                model or cfg.model, base_url=cfg.base_url, api_key=cfg.api_key
            )
        return llm

    async def run(self, index: int, line: int, raw: bytes, attempts: int) -> RowResult:
        """One row → (kind, row bytes, (requests, tokens)). Raises QuotaExhaustedError (the
        row stays unfinished) and CancelledError."""
        started = time.perf_counter()
        try:
            obj = parse_line(raw)
        except LineError as exc:
            return BAD, error_row(index, None, exc.type, exc.message, line, attempts), (0, 0)
        if is_openai_line(obj):
            return await self._openai(index, obj, attempts)
        if self.crew is None:
            message = "this line holds crew inputs, but no crew was given (--crew)"
            return (
                ERROR,
                error_row(index, obj, "ConfigurationError", message, line, attempts),
                (0, 0),
            )
        try:
            if self.config.timeout is not None:
                async with asyncio.timeout(self.config.timeout):
                    out = await self._kickoff(obj)
            else:
                out = await self._kickoff(obj)
        except QuotaExhaustedError:
            raise
        except Exception as exc:
            kind = BAD if isinstance(exc, InputError) else ERROR
            type_, message, extra = error_info(exc)
            elapsed = time.perf_counter() - started
            row = error_row(index, obj, type_, message, line, attempts, extra, elapsed)
            return kind, row, (0, 0)
        usage = out.token_usage
        row = ok_row(
            index,
            obj,
            crew_output(out),
            usage_dict(
                usage.successful_requests,
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.total_tokens,
                usage.cached_prompt_tokens,
                usage.retries,
            ),
            time.perf_counter() - started,
        )
        return OK, row, (usage.successful_requests, usage.total_tokens)

    async def _kickoff(self, inputs: dict[str, Any]) -> CrewOutput:
        assert self.crew is not None
        out = await self.crew.akickoff(inputs)
        if isinstance(out, CrewStreamingOutput):
            async for _ in out:
                pass
            out = out.result
        return out  # type: ignore[no-any-return]

    async def _openai(self, index: int, obj: dict[str, Any], attempts: int) -> RowResult:
        custom_id = obj.get("custom_id")
        body = obj.get("body")
        method = str(obj.get("method", "POST")).upper()
        url = obj.get("url", BATCH_URL)
        problem = None
        if method != "POST" or url != BATCH_URL:
            problem = f"only POST {BATCH_URL} is supported, not {method} {url}"
        elif not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            problem = "the body must be an object with a 'messages' list"
        if problem is not None:
            exc = LineError("InvalidBatchRequest", problem)
            return BAD, openai_error_row(index, custom_id, exc), (0, 0)
        assert isinstance(body, dict)
        skip = {"messages", "model", "stream", "stream_options", "response_format"}
        overrides = {k: v for k, v in body.items() if k not in skip}
        try:
            llm = self._llm(body.get("model"))
            resp = await llm.acall(
                body["messages"], response_format=body.get("response_format"), **overrides
            )
        except QuotaExhaustedError:
            raise
        except Exception as exc:
            return ERROR, openai_error_row(index, custom_id, exc), (0, 0)
        usage = resp.usage
        wire_usage = {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
        }
        out = completion_body(
            resp.id, resp.model, resp.content, resp.finish_reason, wire_usage, resp.tool_calls
        )
        return OK, openai_ok_row(index, custom_id, out, resp.request_id), (1, usage.total_tokens)
