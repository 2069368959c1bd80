"""The fixed bodies and headers of the simulator's answers, in OpenAI's formats.

Errors are ``{"error": {"message", "type", "param", "code"}}``; every response carries an
``x-request-id`` of OpenAI's shape (``req_`` + 32 hex characters), unique per request.
"""

from __future__ import annotations

import os

from .._json import dumps

__all__ = [
    "BAD_KEY",
    "JSON",
    "MALFORMED_BODY",
    "MALFORMED_STREAM",
    "NO_QUOTA",
    "NO_TOOLS",
    "OVERLOADED",
    "REQUEST_ID_HEADER",
    "SERVER_ERROR",
    "SSE_HEADERS",
    "error_body",
    "invalid_method",
    "invalid_url",
    "new_request_id",
]

REQUEST_ID_HEADER = "x-request-id"
JSON = "application/json"
SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}


def new_request_id() -> str:
    """``req_`` + 32 random hex characters, as OpenAI's ``x-request-id``."""
    return "req_" + os.urandom(16).hex()


def error_body(message: str, kind: str, code: str | None, param: str | None = None) -> bytes:
    """An OpenAI error body."""
    return dumps({"error": {"message": message, "type": kind, "param": param, "code": code}})


def invalid_url(method: str, path: str) -> bytes:
    """The 404 body of a path the simulator does not serve (OpenAI's wording)."""
    return error_body(f"Invalid URL ({method} {path})", "invalid_request_error", None)


def invalid_method(method: str, path: str) -> bytes:
    """The 405 body of a served path asked with another method (OpenAI's wording)."""
    return error_body(f"Invalid method for URL ({method} {path})", "invalid_request_error", None)


BAD_KEY = error_body("Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
NO_QUOTA = error_body(
    "You exceeded your current quota, please check your plan and billing details.",
    "insufficient_quota",
    "insufficient_quota",
)
NO_TOOLS = error_body(
    "This model does not support tools (function calling); leave out 'tools'.",
    "invalid_request_error",
    "tools_not_supported",
    "tools",
)
SERVER_ERROR = error_body(
    "The server had an error while processing your request. Sorry about that!",
    "server_error",
    None,
)
OVERLOADED = error_body(
    "The engine is currently overloaded, please try again later.", "server_error", None
)
MALFORMED_BODY = b'{"id": "chatcmpl-malformed", "object": "chat.completion", "choices": [{"ind'
MALFORMED_STREAM = b'data: {"id": "chatcmpl-malformed", "choices": [{"delta": {"cont\n\n'
