"""OpenAI's Files API in the simulator: ``/v1/files`` (upload, list) and ``/v1/files/{id}``
(retrieve, delete, ``/content``), in OpenAI's wire format.

Files are kept in memory: one upload may hold at most ``file_max_bytes`` and all files
together (uploads and batch outputs) at most ``file_store_bytes``; beyond that an upload is
refused with 400. Nothing expires by itself (``expires_at`` is reported, not enforced).
The batch input lines are checked when a batch validates them (see ``batch_input``), as
OpenAI does, not at upload.
"""

from __future__ import annotations

import hmac
import os
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from .._json import dumps
from . import replies
from .config import SimConfig
from .replies import JSON, error_body
from .stats import SimStats

__all__ = [
    "BATCH_FILE_EXPIRY_S",
    "FileStore",
    "StoredFile",
    "bad_request",
    "check_auth",
    "not_found",
    "page",
    "random_id",
]

PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
BATCH_FILE_EXPIRY_S = 30 * 24 * 3600  # OpenAI: batch files expire after 30 days by default
MAX_FILES_LIMIT = 10_000  # OpenAI's maximum (and default) `limit` of GET /v1/files
_ALPHABET = string.ascii_letters + string.digits


def random_id(prefix: str, size: int = 24) -> str:
    """``prefix`` + ``size`` random letters and digits (OpenAI's ``file-…`` shape)."""
    return prefix + "".join(_ALPHABET[b % len(_ALPHABET)] for b in os.urandom(size))


def json_response(body: Any, status: int = 200) -> web.Response:
    """A JSON response."""
    return web.Response(status=status, body=dumps(body), content_type=JSON)


def bad_request(message: str, param: str | None = None, code: str | None = None) -> web.Response:
    """400 with OpenAI's ``invalid_request_error`` body."""
    body = error_body(message, "invalid_request_error", code, param)
    return web.Response(status=400, body=body, content_type=JSON)


def not_found(message: str, param: str | None = None) -> web.Response:
    """404 with OpenAI's ``invalid_request_error`` body."""
    body = error_body(message, "invalid_request_error", None, param)
    return web.Response(status=404, body=body, content_type=JSON)


def check_auth(request: web.Request, auth: bytes | None) -> web.Response | None:
    """401 when the simulator has an API key and the request does not carry it."""
    if auth is None:
        return None
    given = request.headers.get("Authorization", "").encode("utf-8", "replace")
    if hmac.compare_digest(given, auth):
        return None
    return web.Response(status=401, body=replies.BAD_KEY, content_type=JSON)


def page(items: list[dict[str, Any]], request: web.Request, default: int, most: int) -> Any:
    """OpenAI's cursor page of ``items`` (newest first): ``limit`` and ``after`` (an id) from
    the query; a ``web.Response`` for a bad ``limit``."""
    query = request.query
    try:
        limit = int(query.get("limit", default))
    except ValueError:
        limit = 0
    if not 1 <= limit <= most:
        return bad_request(f"'limit' must be an integer from 1 to {most}", "limit")
    after = query.get("after")
    if after is not None:
        ids = [item["id"] for item in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    data = items[:limit]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(items) > limit,
    }


@dataclass(slots=True)
class StoredFile:
    """One file: its bytes and what OpenAI's file object says about it."""

    id: str
    filename: str
    purpose: str
    created_at: int
    data: bytes
    expires_at: int | None = None

    def body(self) -> dict[str, Any]:
        """OpenAI's ``file`` object."""
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": self.expires_at,
            "status_details": None,
        }


class FileStore:
    """The simulator's files, in memory, and the ``/v1/files`` handlers."""

    def __init__(
        self,
        config: SimConfig,
        stats: SimStats,
        clock: Callable[[], float],
        auth: bytes | None,
    ) -> None:
        self.max_bytes = config.file_max_bytes
        self.store_bytes = config.file_store_bytes
        self.stats = stats
        self.clock = clock
        self.auth = auth
        self.files: dict[str, StoredFile] = {}  # in creation order
        self.used = 0

    def register(self, router: web.UrlDispatcher) -> None:
        """Add the routes."""
        router.add_post("/v1/files", self._upload)
        router.add_get("/v1/files", self._list)
        router.add_get("/v1/files/{file_id}", self._retrieve)
        router.add_delete("/v1/files/{file_id}", self._delete)
        router.add_get("/v1/files/{file_id}/content", self._content)

    def add(self, filename: str, purpose: str, data: bytes) -> StoredFile:
        """Store ``data`` as a new file (no limit checked: batch outputs)."""
        now = int(self.clock())
        expires = now + BATCH_FILE_EXPIRY_S if purpose.startswith("batch") else None
        stored = StoredFile(random_id("file-"), filename, purpose, now, data, expires)
        self.files[stored.id] = stored
        self.used += len(data)
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        """The file, or None."""
        return self.files.get(file_id)

    def count(self) -> int:
        """How many files are stored."""
        return len(self.files)

    # -- handlers --------------------------------------------------------------------------

    async def _upload(self, request: web.Request) -> web.Response:
        if (refused := check_auth(request, self.auth)) is not None:
            return refused
        if not request.content_type.startswith("multipart/"):
            return bad_request("The request must be multipart/form-data with 'file' and 'purpose'")
        reader = await request.multipart()
        filename: str | None = None
        data: bytes | None = None
        fields: dict[str, str] = {}
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name is None:  # pragma: no cover
                continue
            if part.name == "file":
                filename = part.filename or "file"
                read = await self._read_file(part)
                if isinstance(read, web.Response):
                    return read
                data = read
            else:
                fields[part.name] = await part.text()
        purpose = fields.get("purpose")
        if data is None or filename is None:
            return bad_request("Missing required parameter: 'file'.", "file")
        if purpose is None:
            return bad_request("Missing required parameter: 'purpose'.", "purpose")
        if purpose not in PURPOSES:
            allowed = ", ".join(repr(p) for p in PURPOSES)
            return bad_request(f"'{purpose}' is not one of {allowed} - 'purpose'", "purpose")
        if purpose == "batch" and not filename.endswith(".jsonl"):
            return bad_request("Invalid file format for Batch API. Must be .jsonl", "file")
        if self.used + len(data) > self.store_bytes:
            return bad_request(
                f"The simulator's file storage is full ({self.store_bytes} bytes); "
                "delete files first.",
                "file",
            )
        stored = self.add(filename, purpose, data)
        seconds = fields.get("expires_after[seconds]")
        if seconds is not None and seconds.isdigit():
            stored.expires_at = stored.created_at + int(seconds)
        self.stats.batch_file_uploaded(len(data))
        return json_response(stored.body())

    async def _read_file(self, part: BodyPartReader) -> bytes | web.Response:
        chunks: list[bytes] = []
        size = 0
        while chunk := await part.read_chunk(1 << 20):
            size += len(chunk)
            if size <= self.max_bytes:
                chunks.append(chunk)
            else:
                chunks.clear()  # read on, so the client gets the 400 rather than a reset
        if size > self.max_bytes:
            return bad_request(f"File is too large: the limit is {self.max_bytes} bytes.", "file")
        return b"".join(chunks)

    async def _list(self, request: web.Request) -> web.Response:
        if (refused := check_auth(request, self.auth)) is not None:
            return refused
        purpose = request.query.get("purpose")
        files = list(reversed(self.files.values()))
        if request.query.get("order") == "asc":
            files.reverse()
        items = [f.body() for f in files if purpose is None or f.purpose == purpose]
        result = page(items, request, MAX_FILES_LIMIT, MAX_FILES_LIMIT)
        return result if isinstance(result, web.Response) else json_response(result)

    def _find(self, request: web.Request) -> StoredFile | web.Response:
        if (refused := check_auth(request, self.auth)) is not None:
            return refused
        file_id = request.match_info["file_id"]
        stored = self.files.get(file_id)
        if stored is None:
            return not_found(f"No such File object: {file_id}", "id")
        return stored

    async def _retrieve(self, request: web.Request) -> web.Response:
        found = self._find(request)
        return found if isinstance(found, web.Response) else json_response(found.body())

    async def _content(self, request: web.Request) -> web.Response:
        found = self._find(request)
        if isinstance(found, web.Response):
            return found
        return web.Response(body=found.data, content_type="application/octet-stream")

    async def _delete(self, request: web.Request) -> web.Response:
        found = self._find(request)
        if isinstance(found, web.Response):
            return found
        del self.files[found.id]
        self.used -= len(found.data)
        return json_response({"id": found.id, "object": "file", "deleted": True})
