"""Rows of OpenAI Batch-API lines, in OpenAI's batch *output* format (docs/output.md)::

    {"id": "batch_req_7", "custom_id": "c7",
     "response": {"status_code": 200, "request_id": "req_…", "body": <the provider's body>},
     "error": null}

The provider's body is spliced in as the bytes it sent (key order, floats, ``null``s, every
choice of ``n > 1``, fields fastcrew does not know); so is the input's ``custom_id`` text. A
provider's 4xx/5xx answer keeps its own body (``{"error": {message, type, param, code}}``)
under ``response``; failures with no provider answer (connection, timeout, a malformed 200,
an invalid line, a duplicate ``custom_id``) have ``response: null`` and an ``error`` object.
"""

from __future__ import annotations

from typing import Any

from .._json import JSONDecodeError, dumps, loads
from ..errors import LLMError

__all__ = [
    "DUPLICATE_CUSTOM_ID",
    "body_line",
    "duplicate_row",
    "openai_error_row",
    "openai_ok_row",
]

DUPLICATE_CUSTOM_ID = "duplicate_custom_id"
"""``error.code`` of a line whose ``custom_id`` an earlier line already used."""

_NULL = b"null"


def body_line(body: bytes, secret: str | None = None) -> bytes:
    """A valid JSON body as it came, on one line: a raw newline can only be whitespace between
    tokens (a JSON string cannot hold one), so newline bytes are dropped and nothing else
    changes. The API key, should the body hold it, is redacted."""
    body = body.strip()
    if b"\n" in body or b"\r" in body:
        body = body.replace(b"\n", b"").replace(b"\r", b"")
    if secret and secret.encode() in body:
        from ..llm.wire import redact_bytes  # not on the supervisor's import path

        body = redact_bytes(body, secret)
    return body


def _row(index: int, custom_id: bytes | None, response: bytes, error: bytes) -> bytes:
    return b'{"id":"batch_req_%d","custom_id":%b,"response":%b,"error":%b}' % (
        index,
        _NULL if custom_id is None else custom_id,
        response,
        error,
    )


def _response(status: int, request_id: str | None, body: bytes) -> bytes:
    return b'{"status_code":%d,"request_id":%b,"body":%b}' % (status, dumps(request_id), body)


def openai_ok_row(
    index: int,
    custom_id: bytes | None,
    body: bytes | dict[str, Any],
    request_id: str | None,
    secret: str | None = None,
) -> bytes:
    """An answered request: ``body`` is the provider's raw body (or, when there is none, an
    object to encode); ``custom_id`` the input's JSON text of it."""
    raw = body_line(body, secret) if isinstance(body, bytes) else dumps(body)
    return _row(index, custom_id, _response(200, request_id, raw), _NULL)


def _provider_body(exc: LLMError, type_: str, message: str) -> bytes:
    """The body of a provider's error answer: as sent if it is a whole JSON object, else its
    ``error`` object, else fastcrew's description in OpenAI's shape."""
    if exc.body:
        try:
            whole = isinstance(loads(exc.body), dict)
        except JSONDecodeError:  # not JSON, or cut at the error-body limit
            whole = False
        if whole:
            return body_line(exc.body)  # already redacted by the client
    error = exc.error or {"message": message, "type": type_, "param": None, "code": None}
    return dumps({"error": error})


def openai_error_row(
    index: int, custom_id: bytes | None, exc: BaseException, type_: str, message: str
) -> bytes:
    """A failed request (``type_`` / ``message``: :func:`~fastcrew.batch.rows.error_info`):
    a provider's error answer under ``response``, anything else under ``error``."""
    status = exc.status if isinstance(exc, LLMError) else None
    if isinstance(exc, LLMError) and status is not None and status >= 400:
        response = _response(status, exc.request_id, _provider_body(exc, type_, message))
        return _row(index, custom_id, response, _NULL)
    return _row(index, custom_id, _NULL, dumps({"code": type_, "message": message}))


def duplicate_row(index: int, custom_id: bytes | None, first_line: int) -> bytes:
    """A line whose ``custom_id`` was already used (on ``first_line``): refused unsent."""
    shown = (custom_id or _NULL).decode("utf-8", "replace")
    message = (
        f"custom_id {shown} was already used on line {first_line}: "
        "the custom_ids of a batch must be unique"
    )
    return _row(index, custom_id, _NULL, dumps({"code": DUPLICATE_CUSTOM_ID, "message": message}))
