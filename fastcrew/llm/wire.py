"""The OpenAI chat-completions wire format: request bodies, answers, stream chunks, errors.

This is the one place where an HTTP status and body become a fastcrew exception.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from email.utils import parsedate_to_datetime
from functools import lru_cache
from time import time
from typing import Any, Literal

from .._json import JSONDecodeError, loads
from ..errors import (
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    LLMError,
    LLMTimeoutError,
    MalformedResponseError,
    QuotaExhaustedError,
    RateLimitError,
    ServerError,
)
from .types import ChatDelta, ChatResponse, RateLimitSnapshot, Usage

__all__ = [
    "Messages",
    "error_from_response",
    "malformed_response",
    "merge_tool_call_deltas",
    "normalize_messages",
    "parse_completion",
    "parse_stream_line",
    "redact",
    "redact_bytes",
    "response_format_to_wire",
]

Messages = str | Sequence[Mapping[str, Any]]

_MAX_MESSAGE = 500
MAX_ERROR_BODY = 64 * 1024
"""An error's ``body`` keeps at most this many bytes of the provider's answer."""
_KEY_LIKE = re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_\-*]{6,}")
_schema_cache: dict[type, dict[str, Any]] = {}


def normalize_messages(messages: Messages) -> list[Mapping[str, Any]]:
    """A bare string is one user message; a sequence of message dicts is used as is."""
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    return list(messages)


def response_format_to_wire(response_format: Any) -> Any:
    """Accept a wire dict, or a pydantic model class (→ ``json_schema``)."""
    if response_format is None or isinstance(response_format, Mapping):
        return response_format
    if isinstance(response_format, type) and hasattr(response_format, "model_json_schema"):
        wire = _schema_cache.get(response_format)
        if wire is None:
            wire = {
                "type": "json_schema",
                "json_schema": {
                    "name": response_format.__name__,
                    "schema": response_format.model_json_schema(),
                },
            }
            _schema_cache[response_format] = wire
        return wire
    raise TypeError(
        "response_format must be a dict like {'type': 'json_object'} or a pydantic model class"
    )


MIN_FREE_KEY = 8
"""Keys at least this long are redacted wherever they appear; shorter ones only as a whole
token (a short key like ``k`` would otherwise eat letters out of prose)."""
_KEY_CHAR = r"A-Za-z0-9_\-"
_KEY_LIKE_BYTES = re.compile(_KEY_LIKE.pattern.encode())


@lru_cache(maxsize=32)
def _short_key(secret: str) -> tuple[re.Pattern[str], re.Pattern[bytes]]:
    """A short key as a whole token: in text, and in a body's (UTF-8) bytes."""
    pattern = f"(?<![{_KEY_CHAR}]){re.escape(secret)}(?![{_KEY_CHAR}])"
    return re.compile(pattern), re.compile(pattern.encode())


def redact(text: str, secret: str | None) -> str:
    """Remove the API key (and anything shaped like one) from ``text``.

    The rule: a key of :data:`MIN_FREE_KEY` (8) characters or more is replaced by ``***``
    wherever it appears, even glued to other characters (a long random key never occurs in
    prose by chance, and an echoed key must not survive as part of a longer word). A shorter
    key is replaced only where it stands as a whole token — not next to a letter, digit,
    ``_`` or ``-`` — so key ``k`` hides ``"key k"`` but leaves ``"check"`` alone. Then
    anything shaped like a provider key (``sk-…``, ``pk-…``, ``rk-…``) becomes ``sk-***``.
    """
    if secret:
        if len(secret) >= MIN_FREE_KEY:
            text = text.replace(secret, "***")
        else:
            text = _short_key(secret)[0].sub("***", text)
    return _KEY_LIKE.sub(r"\1-***", text)


def redact_bytes(data: bytes, secret: str | None) -> bytes:
    """:func:`redact` for a raw body (the same rule, on its bytes)."""
    if secret:
        if len(secret) >= MIN_FREE_KEY:
            data = data.replace(secret.encode(), b"***")
        else:
            data = _short_key(secret)[1].sub(b"***", data)
    return _KEY_LIKE_BYTES.sub(rb"\1-***", data)


def _redact_value(value: Any, secret: str | None) -> Any:
    if isinstance(value, str):
        return redact(value, secret)
    if isinstance(value, dict):
        return {k: _redact_value(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(v, secret) for v in value]
    return value


def malformed_response(
    what: str, request_id: str | None, status: int = 200
) -> MalformedResponseError:
    return MalformedResponseError(
        f"malformed response from the LLM provider: {what}", status=status, request_id=request_id
    )


def parse_completion(body: bytes, headers: Mapping[str, str]) -> ChatResponse:
    """Turn a 2xx chat-completion body into a :class:`ChatResponse`."""
    request_id = headers.get("x-request-id")
    try:
        data = loads(body)
        message = data["choices"][0]["message"]
        choice = data["choices"][0]
    except JSONDecodeError:
        raise malformed_response("body is not valid JSON", request_id) from None
    except (KeyError, IndexError, TypeError):
        raise malformed_response("no choices[0].message in the body", request_id) from None
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise malformed_response("message content is not a string", request_id)
    return ChatResponse(
        content=content or "",
        usage=Usage.from_wire(data.get("usage")),
        finish_reason=choice.get("finish_reason"),
        model=data.get("model"),
        id=data.get("id"),
        request_id=request_id,
        rate_limits=RateLimitSnapshot.from_headers(headers),
        tool_calls=message.get("tool_calls"),
        raw=body,
    )


def parse_stream_line(
    line: bytes, request_id: str | None, secret: str | None = None
) -> ChatDelta | Literal[True] | None:
    """One SSE line → a delta, ``None`` (nothing to yield) or ``True`` at ``[DONE]``."""
    line = line.strip()
    if not line.startswith(b"data:"):
        return None  # blank separators, comments, event: lines
    payload = line[5:].strip()
    if payload == b"[DONE]":
        return True
    try:
        chunk = loads(payload)
    except JSONDecodeError:
        raise malformed_response("stream chunk is not valid JSON", request_id) from None
    if not isinstance(chunk, dict):
        raise malformed_response("stream chunk is not an object", request_id)
    if "error" in chunk:
        raise error_from_response(500, payload, {}, secret)
    usage = chunk.get("usage")
    choices = chunk.get("choices") or []
    content = ""
    finish = None
    calls = None
    if choices:
        try:
            choice = choices[0]
            delta = choice.get("delta") or {}
            content = delta.get("content") or ""
            finish = choice.get("finish_reason")
            if delta.get("tool_calls"):
                calls = tuple(dict(c) for c in delta["tool_calls"])
        except (AttributeError, TypeError, ValueError):
            raise malformed_response("stream chunk choices are not objects", request_id) from None
    if not content and finish is None and usage is None and calls is None:
        return None
    if usage is None:
        return ChatDelta(content, None, finish, calls)
    return ChatDelta(content, Usage.from_wire(usage), finish, calls, chunk.get("model"))


def merge_tool_call_deltas(
    calls: dict[int, dict[str, Any]], fragments: Sequence[Mapping[str, Any]]
) -> None:
    """Fold streamed ``delta.tool_calls`` fragments into whole calls, keyed by index."""
    for fragment in fragments:
        index = int(fragment.get("index") or 0)
        call = calls.get(index)
        if call is None:
            call = calls[index] = {
                "id": "",
                "type": "function",
                "function": {"name": "", "arguments": ""},
            }
        if fragment.get("id"):
            call["id"] = fragment["id"]
        function = fragment.get("function") or {}
        if function.get("name"):
            call["function"]["name"] += function["name"]
        if function.get("arguments"):
            call["function"]["arguments"] += function["arguments"]


def _retry_after(headers: Mapping[str, str]) -> float | None:
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time())
    except (TypeError, ValueError):
        return None


def _error_fields(data: Any, body: bytes) -> tuple[str, dict[str, Any] | None]:
    """(message, the provider's ``error`` object) from an error body (``data``: the decoded
    JSON, ``_NOT_JSON`` if it was not JSON), tolerant of anything."""
    if data is _NOT_JSON:
        text = body[: 4 * _MAX_MESSAGE].decode("utf-8", "replace").strip()
        return text or "(empty body)", None
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, str):
        return err, {"message": err}
    if not isinstance(err, dict):
        return str(data)[: 4 * _MAX_MESSAGE], None
    return str(err.get("message") or "(no message)"), err


_NOT_JSON = object()


def error_from_response(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    secret: str | None,
) -> LLMError:
    """Map a non-2xx answer to the matching :class:`~fastcrew.errors.LLMError`.

    The error keeps the provider's own answer: ``status``, ``request_id``, ``error`` (its
    error object) and ``body`` (at most :data:`MAX_ERROR_BODY` bytes), redacted like the
    message (:func:`redact`).
    """
    try:
        data = loads(body)
    except JSONDecodeError:
        data = _NOT_JSON
    message, provider_error = _error_fields(data, body)
    message = redact(message, secret)[:_MAX_MESSAGE]
    kind = provider_error.get("type") if provider_error else None
    code = provider_error.get("code") if provider_error else None
    fields: dict[str, Any] = {
        "status": status,
        "request_id": headers.get("x-request-id"),
        "error": _redact_value(provider_error, secret),
        "body": redact_bytes(body, secret)[:MAX_ERROR_BODY],
    }
    text = f"LLM provider answered {status}: {message}"
    if status == 429:
        if "insufficient_quota" in (kind, code):
            return QuotaExhaustedError(text, **fields)
        if message.startswith("Request too large"):
            # Larger than the provider's whole bucket: no wait will ever let it through.
            return BadRequestError(text, **fields)
        limit = kind if kind in ("requests", "tokens") else None
        snap = RateLimitSnapshot.from_headers(headers)
        if limit is None:
            limit = _exhausted(snap)
        retry_after = _retry_after(headers)
        if retry_after is None and limit is not None:
            retry_after = getattr(snap, f"reset_{limit}")
        return RateLimitError(text, retry_after=retry_after, limit=limit, **fields)
    if status in (401, 403):
        return AuthenticationError(text, **fields)
    if status == 408:
        return LLMTimeoutError(text, **fields)
    if status >= 500:
        return ServerError(text, **fields)
    if code == "content_filter" and provider_error is not None:  # Azure OpenAI's filter
        categories = filtered_categories(provider_error)
        named = ", ".join(f"{name} ({severity})" for name, severity in categories.items())
        text = f"Azure's content filter refused the prompt: {named or 'no category named'}"
        return ContentFilterError(text, categories=categories, **fields)
    return BadRequestError(text, **fields)


def _exhausted(snap: RateLimitSnapshot) -> str | None:
    """The budget the provider's headers show empty (None when none is)."""
    for kind in ("tokens", "input_tokens", "output_tokens", "requests"):
        if getattr(snap, f"remaining_{kind}") == 0:
            return kind
    return None


def filtered_categories(error: Mapping[str, Any]) -> dict[str, str]:
    """``{category: severity}`` of the categories Azure's content filter flagged, from its
    error's ``innererror.content_filter_result`` (``jailbreak`` & co: ``detected``)."""
    inner = error.get("innererror")
    result = inner.get("content_filter_result") if isinstance(inner, dict) else None
    if not isinstance(result, dict):
        return {}
    found: dict[str, str] = {}
    for name, verdict in result.items():
        if isinstance(verdict, dict) and verdict.get("filtered"):
            found[str(name)] = str(verdict.get("severity") or "detected")
    return found
