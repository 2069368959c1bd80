"""The output row schema (docs/output.md), and how an input line is classified.

Crew rows::

    {"index": 0, "id": "q1", "status": "ok",
     "output": {"raw": ..., "json_dict": ..., "pydantic": ..., "tasks": [...]},
     "error": null, "usage": {...}, "elapsed_s": 1.234}

    {"index": 1, "status": "error", "output": null,
     "error": {"type": "InvalidJSON", "message": ..., "line": 2, "attempts": 1},
     "usage": {...zeros...}, "elapsed_s": 0.0}

Lines in OpenAI Batch-API format (``custom_id``, ``method``, ``url``, ``body``) get rows in
OpenAI's batch *output* format instead (``id``, ``custom_id``, ``response``, ``error``).
Rows are serialised once, in the worker, and travel as bytes from there on. A row's ``id``
(and an OpenAI row's ``custom_id``) is the input's own JSON text, spliced in byte for byte
(:mod:`fastcrew.batch.members`): big integers, ``1.50`` and escapes come back as written.
"""

from __future__ import annotations

import time
from typing import Any

from .._json import JSONDecodeError, dumps, loads
from ..errors import FastCrewError, InputError, LLMError
from .members import member_text
from .openai_rows import duplicate_row, openai_error_row, openai_ok_row

__all__ = [
    "BAD",
    "BAD_INPUT_TYPES",
    "BATCH_URL",
    "ERROR",
    "OK",
    "ZERO_USAGE",
    "LineError",
    "completion_body",
    "duplicate_row",
    "error_info",
    "error_row",
    "id_text",
    "is_error_row",
    "is_openai_line",
    "ok_row",
    "openai_error_row",
    "openai_ok_row",
    "oversize_row",
    "parse_line",
    "usage_dict",
]

OK, ERROR, BAD = 0, 1, 2
"""Row kinds a worker reports: success, failure, bad input line (``--strict`` stops on it)."""
BATCH_URL = "/v1/chat/completions"
BAD_INPUT_TYPES = frozenset(
    {
        "InvalidJSON",
        "InvalidUTF8",
        "NotAnObject",
        "LineTooLong",
        "InvalidBatchRequest",
        "InputError",
    }
)
"""Error types that mean the input line itself is bad (``--strict`` stops on these)."""

ZERO_USAGE: dict[str, int | float] = {
    "requests": 0,
    "prompt_tokens": 0,
    "completion_tokens": 0,
    "total_tokens": 0,
    "cached_prompt_tokens": 0,
    "retries": 0,
    "cost_usd": 0.0,
    "unpriced_requests": 0,
}

_JSON_TYPES = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


class LineError(Exception):
    """An input line that cannot become a kickoff: ``type`` names the reason."""

    def __init__(self, type_: str, message: str) -> None:
        super().__init__(message)
        self.type = type_
        self.message = message


def parse_line(raw: bytes) -> dict[str, Any]:
    """The JSON object on one line, or :class:`LineError` (invalid UTF-8 / JSON, not an
    object)."""
    try:
        obj = loads(raw)
    except JSONDecodeError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            raise LineError(
                "InvalidUTF8", f"the line is not valid UTF-8 (byte {bad.start}: {bad.reason})"
            ) from None
        raise LineError("InvalidJSON", f"the line is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        kind = _JSON_TYPES.get(type(obj), type(obj).__name__)
        raise LineError("NotAnObject", f"a line must be a JSON object, not {kind}")
    return obj


def is_openai_line(obj: dict[str, Any]) -> bool:
    """Whether a line is an OpenAI Batch-API request (it has ``custom_id`` and ``body``)."""
    return "custom_id" in obj and "body" in obj


def usage_dict(
    requests: int,
    prompt: int,
    completion: int,
    total: int,
    cached: int = 0,
    retries: int = 0,
    cost_usd: float = 0.0,
    unpriced: int = 0,
) -> dict[str, int | float]:
    """A row's ``usage`` object (``cost_usd`` rounded to ``USD_DECIMALS``: no float noise;
    ``unpriced``: the requests whose cost is unknown, counted 0 in it)."""
    return {
        "requests": requests,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total,
        "cached_prompt_tokens": cached,
        "retries": retries,
        "cost_usd": round(cost_usd, 10),
        "unpriced_requests": unpriced,
    }


_I64_MIN, _U64_LIMIT = -(2**63), 2**64


def _canonical(value: Any, raw: bytes) -> bool:
    """Whether encoding ``value`` gives back its text in ``raw``: a non-zero int in 64-bit
    range has one spelling, and so has a string when the line holds no escape at all."""
    kind = type(value)
    if kind is int:
        return bool(value) and _I64_MIN < value < _U64_LIMIT
    return kind is str and b"\\" not in raw


def id_text(obj: dict[str, Any] | None, raw: bytes | None, key: str = "id") -> bytes | None:
    """The JSON text of the line's ``key`` member as the input wrote it (None: no such
    member); re-encoded only when ``raw`` is not given."""
    if obj is None or key not in obj:
        return None
    value = obj[key]
    if raw is None or _canonical(value, raw):
        return dumps(value)
    return member_text(raw, key) or dumps(value)


def _head(
    index: int, obj: dict[str, Any] | None, raw: bytes | None
) -> tuple[dict[str, Any], bytes | None]:
    """A row's first fields, and the ``id`` text to splice in after ``index`` (None: the
    ``id``, if any, is in the dict, its encoding being the input's text)."""
    head: dict[str, Any] = {"index": index}
    if obj is None or "id" not in obj:
        return head, None
    value = head["id"] = obj["id"]
    kind = type(value)
    if (
        raw is None
        or (kind is str and b"\\" not in raw)
        or (kind is int and value and _I64_MIN < value < _U64_LIMIT)
    ):  # re-encoding gives the input's text back (see _canonical)
        return head, None
    text = member_text(raw, "id")
    if text is not None:
        del head["id"]
    return head, text


def _splice(index: int, row: dict[str, Any], ident: bytes) -> bytes:
    """``row`` encoded, with ``"id": <ident>`` spliced in after ``index`` (its first key)."""
    data = dumps(row)
    cut = len(b'{"index":%d' % index)
    return b'%b,"id":%b%b' % (data[:cut], ident, data[cut:])


def ok_row(
    index: int,
    obj: dict[str, Any],
    output: dict[str, Any],
    usage: dict[str, int | float],
    elapsed_s: float,
    raw: bytes | None = None,
) -> bytes:
    """A successful crew row (``raw``: the input line, the source of the ``id`` text)."""
    row, ident = _head(index, obj, raw)
    row["status"] = "ok"
    row["output"] = output
    row["error"] = None
    row["usage"] = usage
    row["elapsed_s"] = round(elapsed_s, 4)
    return dumps(row) if ident is None else _splice(index, row, ident)


def error_info(exc: BaseException) -> tuple[str, str, dict[str, Any]]:
    """(type, message, extra fields) of an exception, for an error row. Messages of fastcrew
    errors never hold an API key; other exceptions are reported by type and message."""
    if isinstance(exc, LineError):
        return exc.type, exc.message, {}
    extra: dict[str, Any] = {}
    if isinstance(exc, LLMError):
        if exc.status is not None:
            extra["status"] = exc.status
        if exc.request_id is not None:
            extra["request_id"] = exc.request_id
    if isinstance(exc, InputError) and exc.variable is not None:
        extra["variable"] = exc.variable
    if isinstance(exc, TimeoutError) and not isinstance(exc, FastCrewError):
        return "RowTimeout", str(exc) or "the row ran out of time (--timeout)", extra
    return type(exc).__name__, str(exc) or type(exc).__name__, extra


def error_row(
    index: int,
    obj: dict[str, Any] | None,
    type_: str,
    message: str,
    line: int,
    attempts: int = 1,
    extra: dict[str, Any] | None = None,
    elapsed_s: float = 0.0,
    raw: bytes | None = None,
) -> bytes:
    """A failed crew row (or a bad input line)."""
    error: dict[str, Any] = {"type": type_, "message": message, "line": line, "attempts": attempts}
    if extra:
        error.update(extra)
    row, ident = _head(index, obj, raw)
    row["status"] = "error"
    row["output"] = None
    row["error"] = error
    row["usage"] = ZERO_USAGE
    row["elapsed_s"] = round(elapsed_s, 4)
    return dumps(row) if ident is None else _splice(index, row, ident)


def oversize_row(index: int, line: int, size: int, limit: int) -> bytes:
    """The row of a line longer than ``max_line_bytes``."""
    message = f"the line is {size:,} bytes, over the limit of {limit:,} (--max-line-bytes)"
    return error_row(index, None, "LineTooLong", message, line)


def completion_body(
    resp_id: str | None,
    model: str | None,
    content: str,
    finish_reason: str | None,
    usage: dict[str, int],
    tool_calls: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A ``chat.completion`` object rebuilt from a ChatResponse, for an answer without its
    raw body (``created`` is the time the row finished)."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": resp_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": usage,
    }


def is_error_row(row: bytes) -> bool:
    """Whether a serialised output row (either format) records a failure."""
    obj = loads(row)
    if "status" in obj:
        return bool(obj["status"] == "error")
    response = obj.get("response")
    return obj.get("error") is not None or not response or response.get("status_code") != 200
