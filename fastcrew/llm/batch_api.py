"""A small client of OpenAI's Files and Batch APIs: upload a JSONL file, create a batch,
look at it, list batches, stream a file's content down line by line.

It sends over the running loop's shared aiohttp session (:mod:`fastcrew.llm.transport`).
A non-2xx answer raises the :class:`~fastcrew.errors.LLMError` the chat client would
(``retryable`` for 408/409/429/5xx); a lost connection raises ``LLMConnectionError``. The
wire is OpenAI's documented one (``POST /v1/files`` multipart with ``purpose=batch``;
``POST /v1/batches`` with ``input_file_id``, ``endpoint``, ``completion_window`` and
``metadata``; cursor pages with ``after``/``limit``/``has_more``).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from .._json import dumps, loads
from .transport import http_chunks, http_request
from .wire import error_from_response

__all__ = ["FINAL_STATES", "BatchAPI"]

FINAL_STATES = frozenset({"completed", "failed", "expired", "cancelled"})
"""A batch in one of these states changes no more."""

_CHUNK = 1 << 20


class BatchAPI:
    """The Files and Batch endpoints under ``base_url`` (``https://api.openai.com/v1``),
    with ``api_key`` (never shown)."""

    def __init__(self, base_url: str, api_key: str | None, *, timeout: float = 300.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.timeout = timeout
        self._headers = {"User-Agent": "fastcrew", "Accept": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"

    def __repr__(self) -> str:
        return f"BatchAPI(base_url={self.base_url!r})"

    async def _json(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        sent = {**self._headers, **(headers or {})}
        data: Any = None
        if body is not None and not isinstance(body, (bytes, AsyncIterator)):
            data = dumps(body)
            sent["Content-Type"] = "application/json"
        elif body is not None:
            data = body
        resp = await http_request(method, self.base_url + path, sent, data, self.timeout)
        if resp.status >= 300:
            raise error_from_response(resp.status, resp.body, resp.headers, self._api_key)
        result: dict[str, Any] = loads(resp.body)
        return result

    async def upload(self, path: str, *, purpose: str = "batch") -> dict[str, Any]:
        """``POST /v1/files``: upload the file at ``path`` (streamed from disk, with its
        length) under its base name; the file object."""
        boundary = "fastcrew-" + secrets.token_hex(16)
        name = os.path.basename(path).replace('"', "")
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n'
            f"{purpose}\r\n"
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/jsonl\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        file = await asyncio.to_thread(open, path, "rb")
        size = len(head) + os.fstat(file.fileno()).st_size + len(tail)

        async def parts() -> AsyncIterator[bytes]:
            with file:
                yield head
                while chunk := await asyncio.to_thread(file.read, _CHUNK):
                    yield chunk
                yield tail

        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(size),
        }
        return await self._json("POST", "/files", parts(), headers)

    async def create_batch(
        self,
        input_file_id: str,
        *,
        endpoint: str = "/v1/chat/completions",
        metadata: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """``POST /v1/batches`` (completion window 24 h); the batch object."""
        body: dict[str, Any] = {
            "input_file_id": input_file_id,
            "endpoint": endpoint,
            "completion_window": "24h",
        }
        if metadata:
            body["metadata"] = dict(metadata)
        return await self._json("POST", "/batches", body)

    async def batch(self, batch_id: str) -> dict[str, Any]:
        """``GET /v1/batches/{id}``."""
        return await self._json("GET", f"/batches/{quote(batch_id, safe='')}")

    async def cancel(self, batch_id: str) -> dict[str, Any]:
        """``POST /v1/batches/{id}/cancel``."""
        return await self._json("POST", f"/batches/{quote(batch_id, safe='')}/cancel", {})

    async def batches(self, *, limit: int = 100) -> AsyncIterator[dict[str, Any]]:
        """Every batch, newest first (``GET /v1/batches``, page after page)."""
        after: str | None = None
        while True:
            query = {"limit": str(limit), **({"after": after} if after else {})}
            page = await self._json("GET", "/batches?" + urlencode(query))
            data = page.get("data") or []
            for item in data:
                yield item
            if not page.get("has_more") or not data:
                return
            after = page.get("last_id") or data[-1]["id"]

    async def lines(self, file_id: str) -> AsyncIterator[bytes]:
        """``GET /v1/files/{id}/content``, one line at a time (without its newline), streamed:
        a file of any size takes one chunk of memory."""
        url = f"{self.base_url}/files/{quote(file_id, safe='')}/content"
        rest = b""
        first = True
        async for part in http_chunks(url, self._headers, self.timeout):
            if first:
                first = False
                if part.status >= 300:
                    raise error_from_response(part.status, part.body, part.headers, self._api_key)
                continue
            rest += part.body
            *whole, rest = rest.split(b"\n")
            for line in whole:
                if line.strip():
                    yield line
        if rest.strip():
            yield rest
