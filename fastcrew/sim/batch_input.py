"""A batch's work: check the input file's lines as OpenAI's ``validating`` step does, then
answer every request with the simulator's own chat logic (``parse_chat_request`` and
``AnswerMaker``, the same deterministic answers as ``POST /v1/chat/completions``), without
rate limits, latency or the chat faults.

Draws are seeded with the simulator's seed and the batch's number (1 for the first batch
created, 2 for the next, …): the ``n``-th batch of a simulator always gets the same fate
(rejected, expiring and where) and the same failed lines, and resubmitting failed lines in a
new batch is a new draw.
"""

from __future__ import annotations

import asyncio
import os
import random
from dataclasses import dataclass, field
from typing import Any

from .._json import JSONDecodeError, dumps, loads
from . import replies
from .answers import AnswerMaker, prompt_tokens
from .config import SimConfig
from .replies import error_body
from .request import BadRequest, parse_chat_request
from .wire import completion_body

__all__ = ["MAX_ERRORS", "BatchRunner", "Line", "Outcome", "not_executed"]

MAX_ERRORS = 100  # validation errors reported per batch, at most
_YIELD_EVERY = 256  # lines handled between two yields to the event loop
_DUPLICATE = (
    "The custom_id for this request is a duplicate of another request. "
    "The custom_id parameter must be unique for each request in a batch."
)
NOT_EXECUTED = {
    "batch_expired": "This request could not be executed before the completion window expired.",
    "batch_cancelled": "This request was not executed because the batch was cancelled.",
}


@dataclass(slots=True)
class Line:
    """One request's result: its line of the output (``ok``) or error file."""

    custom_id: str
    ok: bool
    record: bytes
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(slots=True)
class Outcome:
    """What a batch's work found: validation errors, or one ``Line`` per request."""

    errors: list[dict[str, Any]] | None = None
    lines: list[Line] = field(default_factory=list)
    model: str | None = None
    rejected: bool = False
    expire_fraction: float | None = None  # the share of requests done when it expires


def _error(code: str, message: str, line: int | None, param: str | None) -> dict[str, Any]:
    return {"code": code, "message": message, "param": param, "line": line}


def _hex_id() -> str:
    return os.urandom(16).hex()


def result_line(custom_id: str, status: int, body: bytes) -> bytes:
    """An output / error file line of an executed request (OpenAI's format)."""
    return b"".join(
        (
            b'{"id":"batch_req_',
            _hex_id().encode(),
            b'","custom_id":',
            dumps(custom_id),
            b',"response":{"status_code":',
            str(status).encode(),
            b',"request_id":"',
            _hex_id().encode(),
            b'","body":',
            body,
            b'},"error":null}',
        )
    )


def not_executed(custom_id: str, code: str) -> bytes:
    """An error file line of a request never run (``batch_expired`` / ``batch_cancelled``)."""
    error = {"code": code, "message": NOT_EXECUTED[code]}
    line = {"id": "batch_req_" + _hex_id(), "custom_id": custom_id, "response": None}
    return dumps({**line, "error": error})


def _check_line(
    item: Any, number: int, endpoint: str, seen: set[str]
) -> tuple[str, dict[str, Any], str | None] | dict[str, Any]:
    """The request of one parsed line, or its validation error."""
    if not isinstance(item, dict):
        return _error(
            "invalid_json_line", "This line is not parseable as valid JSON.", number, None
        )
    for name in ("custom_id", "method", "url", "body"):
        if name not in item:
            message = f"Missing required parameter: '{name}'."
            return _error("missing_required_parameter", message, number, name)
    custom_id, method, url, body = item["custom_id"], item["method"], item["url"], item["body"]
    if not isinstance(custom_id, str) or not custom_id:
        return _error(
            "invalid_type", "'custom_id' must be a non-empty string.", number, "custom_id"
        )
    if method != "POST":
        message = f"Invalid method {method!r}: batch requests must use 'POST'."
        return _error("invalid_method", message, number, "method")
    if url != endpoint:
        message = f"The url {url!r} does not match the batch's endpoint {endpoint!r}."
        return _error("url_mismatch", message, number, "url")
    if not isinstance(body, dict):
        return _error("invalid_type", "'body' must be a JSON object.", number, "body")
    if custom_id in seen:
        return _error("duplicate_custom_id", _DUPLICATE, number, "custom_id")
    seen.add(custom_id)
    model = body.get("model")
    return custom_id, body, model if isinstance(model, str) else None


class BatchRunner:
    """Validates and answers batches for one simulator."""

    def __init__(self, config: SimConfig, answers: AnswerMaker) -> None:
        self.config = config
        self.answers = answers
        self.reject_tools = config.tool_support == "reject"

    async def parse(
        self, data: bytes, endpoint: str
    ) -> tuple[list[tuple[str, dict[str, Any]]], list[dict[str, Any]], str | None]:
        """The requests of an input file, its validation errors and its model."""
        requests: list[tuple[str, dict[str, Any]]] = []
        errors: list[dict[str, Any]] = []
        seen: set[str] = set()
        model: str | None = None
        for number, raw in enumerate(data.split(b"\n"), start=1):
            if number % _YIELD_EVERY == 0:
                await asyncio.sleep(0)
            if not raw.strip():
                continue
            try:
                item = loads(raw)
            except JSONDecodeError:
                item = None
            checked = _check_line(item, number, endpoint, seen)
            if isinstance(checked, dict):
                errors.append(checked)
                continue
            custom_id, body, line_model = checked
            if model is None:
                model = line_model
            elif line_model != model:
                message = f"All requests of a batch must use the same model ({model!r})."
                errors.append(_error("model_mismatch", message, number, "body.model"))
            requests.append((custom_id, body))
        if not requests and not errors:
            errors.append(_error("empty_file", "The batch input file is empty.", None, None))
        limit = self.config.batch_max_requests
        if len(requests) > limit:
            message = (
                f"The batch input file has {len(requests)} requests, more than the "
                f"limit of {limit}."
            )
            errors.append(_error("too_many_tasks", message, None, None))
        return requests, errors[:MAX_ERRORS], model

    def answer(self, body: dict[str, Any]) -> tuple[int, bytes, int, int]:
        """(status, response body, prompt tokens, completion tokens) of one request, as the
        chat endpoint answers it without limits and faults."""
        try:
            chat = parse_chat_request(dumps(body))
            if chat.tools is not None and self.reject_tools:
                return 400, replies.NO_TOOLS, 0, 0
            model = chat.model or self.config.model_name
            prompt = prompt_tokens(chat.messages, chat.tools)
            maker = self.answers
            answers = maker.answers(chat) if chat.n > 1 else [maker.answer(chat)]
        except BadRequest as exc:
            return 400, error_body(exc.message, "invalid_request_error", None, exc.param), 0, 0
        except (ValueError, RecursionError) as exc:  # an unusable json_schema
            message = f"Invalid schema for response_format: {exc!s}"
            return 400, error_body(message, "invalid_request_error", None, "response_format"), 0, 0
        completion = sum(a.completion_tokens for a in answers)
        return 200, completion_body(answers, model, prompt), prompt, completion

    async def run(self, data: bytes, endpoint: str, number: int) -> Outcome:
        """Validate and answer the input file of the ``number``-th batch."""
        config = self.config
        fate = random.Random(f"{config.seed}:batch:{number}:fate")
        rejected = fate.random() < config.batch_reject_rate
        expires = fate.random() < config.batch_expire_rate
        fraction = fate.random()
        requests, errors, model = await self.parse(data, endpoint)
        if errors:
            return Outcome(errors=errors, model=model)
        if rejected:
            return Outcome(model=model, rejected=True)
        failing = random.Random(f"{config.seed}:batch:{number}:requests").random
        fail_rate = config.batch_fail_rate
        lines: list[Line] = []
        for i, (custom_id, body) in enumerate(requests):
            if i % _YIELD_EVERY == _YIELD_EVERY - 1:
                await asyncio.sleep(0)
            status, answer, prompt, completion = self.answer(body)
            if failing() < fail_rate and status == 200:
                status, answer, prompt, completion = 500, replies.SERVER_ERROR, 0, 0
            record = result_line(custom_id, status, answer)
            lines.append(Line(custom_id, status == 200, record, prompt, completion))
        return Outcome(lines=lines, model=model, expire_fraction=fraction if expires else None)
