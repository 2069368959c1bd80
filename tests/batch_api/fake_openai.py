"""An independent fake of OpenAI's Files and Batch APIs, written from OpenAI's API reference
(not from fastcrew.sim): file objects, batch objects, cursor pages, and output / error file
lines ``{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}``.

Tests steer it: a batch completes after ``polls`` looks; ``fail`` custom ids get a 500 line
in the error file (once each); ``expire`` batch numbers end ``expired`` with every request in
the error file as ``batch_expired``. ``hold`` maps steps to the request from which they hang
(1: the first) after doing their work (``upload``, ``create``) or part of it (``content``:
half the bytes; ``retrieve``: the batch stays ``in_progress``), so a test can kill its client
right there. ``errors`` maps steps to a number of 500 answers to give first (``create``
makes the batch, then answers 500: the answer is lost); ``refuse`` steps answer 401 while
listed. ``seen`` counts requests per step; ``submitted`` counts each custom id over every
batch created.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections import Counter
from typing import Any

from aiohttp import web
from loopback import start_app

BATCH_KEYS = (
    "id", "object", "endpoint", "errors", "input_file_id", "completion_window", "status",
    "output_file_id", "error_file_id", "created_at", "in_progress_at", "expires_at",
    "finalizing_at", "completed_at", "failed_at", "expired_at", "cancelling_at",
    "cancelled_at", "request_counts", "metadata",
)  # fmt: skip


def _error(status: int, message: str, code: str | None = None) -> web.Response:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": None,
                      "code": code}}  # fmt: skip
    return web.json_response(body, status=status)


class FakeOpenAI:
    """The fake, served by :meth:`start` on a free loopback port."""

    def __init__(self, *, polls: int = 1) -> None:
        self.polls = polls
        self.fail: set[str] = set()
        self.expire: set[int] = set()
        self.hold: dict[str, int] = {}
        self.errors: Counter[str] = Counter()
        self.refuse: set[str] = set()
        self.seen: Counter[str] = Counter()
        self.submitted: Counter[str] = Counter()
        self.files: dict[str, tuple[dict[str, Any], bytes]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self._inputs: dict[str, list[dict[str, Any]]] = {}
        self._looks: Counter[str] = Counter()
        self._asked = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> FakeOpenAI:
        app = web.Application(client_max_size=1 << 30)
        app.router.add_post("/v1/files", self._upload)
        app.router.add_get("/v1/files/{id}/content", self._content)
        app.router.add_post("/v1/batches", self._create)
        app.router.add_get("/v1/batches", self._list)
        app.router.add_get("/v1/batches/{id}", self._retrieve)
        self._runner, origin = await start_app(app, shutdown_timeout=0.1)
        self.base_url = f"{origin}/v1"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_seen(self, step: str, count: int = 1, limit_s: float = 20.0) -> None:
        """Until ``step`` has been asked ``count`` times (bounded)."""
        async with asyncio.timeout(limit_s):
            while self.seen[step] < count:
                self._asked.clear()
                await self._asked.wait()

    def _seen(self, step: str) -> None:
        self.seen[step] += 1
        self._asked.set()

    def _holds(self, step: str) -> bool:
        return step in self.hold and self.seen[step] >= self.hold[step]

    def _failing(self, step: str) -> web.Response | None:
        if step in self.refuse:
            return _error(401, "Incorrect API key provided.", "invalid_api_key")
        if self.errors[step] <= 0:
            return None
        self.errors[step] -= 1
        body = {"error": {"message": "The server had an error", "type": "server_error",
                          "param": None, "code": None}}  # fmt: skip
        return web.json_response(body, status=500)

    async def _held(self, step: str) -> None:
        if self._holds(step):
            await asyncio.Event().wait()  # until the client is killed and the server closed

    def _file(self, name: str, purpose: str, data: bytes) -> dict[str, Any]:
        now = int(time.time())
        obj = {"id": "file-" + secrets.token_hex(12), "object": "file", "bytes": len(data),
               "created_at": now, "filename": name, "purpose": purpose, "status": "processed",
               "expires_at": now + 30 * 86400, "status_details": None}  # fmt: skip
        self.files[obj["id"]] = (obj, data)
        return obj

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        self._seen("upload")
        if (failed := self._failing("upload")) is not None:
            return failed
        form = await request.post()
        upload = form.get("file")
        if form.get("purpose") != "batch" or not isinstance(upload, web.FileField):
            return _error(400, "purpose batch and a file are required")
        obj = self._file(upload.filename, "batch", upload.file.read())
        await self._held("upload")
        return web.json_response(obj)

    async def _content(self, request: web.Request) -> web.StreamResponse:
        self._seen("content")
        if (failed := self._failing("content")) is not None:
            return failed
        found = self.files.get(request.match_info["id"])
        if found is None:
            return _error(404, "No such File object")
        data = found[1]
        if not self._holds("content"):
            return web.Response(body=data, content_type="application/octet-stream")
        resp = web.StreamResponse(headers={"Content-Length": str(len(data))})
        await resp.prepare(request)
        await resp.write(data[: len(data) // 2])
        await self._held("content")
        return resp

    async def _create(self, request: web.Request) -> web.StreamResponse:
        self._seen("create")
        body = await request.json()
        found = self.files.get(body.get("input_file_id", ""))
        if found is None:
            return _error(404, "No such File object")
        if body.get("endpoint") != "/v1/chat/completions" or body.get("completion_window") != "24h":
            return _error(400, "bad endpoint or completion_window")
        lines = [json.loads(line) for line in found[1].splitlines() if line.strip()]
        now = int(time.time())
        batch: dict[str, Any] = dict.fromkeys(BATCH_KEYS)
        batch.update(
            id="batch_" + secrets.token_hex(16), object="batch", endpoint=body["endpoint"],
            input_file_id=body["input_file_id"], completion_window="24h", status="validating",
            created_at=now, expires_at=now + 86400, metadata=body.get("metadata"),
            request_counts={"total": len(lines), "completed": 0, "failed": 0},
        )  # fmt: skip
        batch["_number"] = len(self.batches) + 1
        self.batches[batch["id"]] = batch
        self._inputs[batch["id"]] = lines
        for line in lines:
            self.submitted[line["custom_id"]] += 1
        await self._held("create")
        return self._failing("create") or web.json_response(_public(batch))

    async def _list(self, request: web.Request) -> web.StreamResponse:
        self._seen("list")
        limit = int(request.query.get("limit", "20"))
        items = list(reversed(self.batches.values()))
        after = request.query.get("after")
        if after:
            ids = [b["id"] for b in items]
            items = items[ids.index(after) + 1 :] if after in ids else []
        page = items[:limit]
        return web.json_response(
            {"object": "list", "data": [_public(b) for b in page],
             "first_id": page[0]["id"] if page else None,
             "last_id": page[-1]["id"] if page else None, "has_more": len(items) > limit}
        )  # fmt: skip

    async def _retrieve(self, request: web.Request) -> web.StreamResponse:
        self._seen("retrieve")
        if (failed := self._failing("retrieve")) is not None:
            return failed
        batch = self.batches.get(request.match_info["id"])
        if batch is None:
            return _error(404, "No such Batch object")
        if batch["status"] not in ("completed", "expired"):
            self._looks[batch["id"]] += 1
            if self._holds("retrieve") or self._looks[batch["id"]] < self.polls:
                batch.update(status="in_progress", in_progress_at=batch["created_at"])
            else:
                self._finish(batch)
        return web.json_response(_public(batch))

    def _finish(self, batch: dict[str, Any]) -> None:
        now = int(time.time())
        out: list[bytes] = []
        errors: list[bytes] = []
        expired = batch["_number"] in self.expire
        for line in self._inputs[batch["id"]]:
            custom_id = line["custom_id"]
            item: dict[str, Any] = {"id": "batch_req_" + secrets.token_hex(16)}
            item.update(custom_id=custom_id, response=None, error=None)
            if expired:
                item["error"] = {"code": "batch_expired",
                                 "message": "This request could not be executed before the "
                                 "completion window expired."}  # fmt: skip
                errors.append(json.dumps(item).encode())
            elif custom_id in self.fail:
                self.fail.discard(custom_id)
                item["response"] = {"status_code": 500, "request_id": secrets.token_hex(16),
                                    "body": {"error": {"message": "The server had an error",
                                             "type": "server_error", "param": None,
                                             "code": None}}}  # fmt: skip
                errors.append(json.dumps(item).encode())
            else:
                item["response"] = {"status_code": 200, "request_id": secrets.token_hex(16),
                                    "body": _completion(line["body"])}  # fmt: skip
                out.append(json.dumps(item).encode())
        name = batch["id"]
        if out:
            batch["output_file_id"] = self._file(
                f"{name}_output.jsonl", "batch_output", b"\n".join(out) + b"\n"
            )["id"]
        if errors:
            batch["error_file_id"] = self._file(
                f"{name}_error.jsonl", "batch_output", b"\n".join(errors) + b"\n"
            )["id"]
        status = "expired" if expired else "completed"
        batch.update(status=status, finalizing_at=now, **{f"{status}_at": now})
        batch["request_counts"] = {"total": len(out) + len(errors), "completed": len(out),
                                   "failed": len(errors)}  # fmt: skip


def _public(batch: dict[str, Any]) -> dict[str, Any]:
    return {key: batch[key] for key in BATCH_KEYS}


def _completion(body: dict[str, Any]) -> dict[str, Any]:
    """A chat.completion answering the last user message with ``answer to: <it>``."""
    last = next(
        (m.get("content") for m in reversed(body.get("messages", [])) if m.get("role") == "user"),
        "",
    )
    content = f"answer to: {last}"
    return {
        "id": "chatcmpl-" + secrets.token_hex(12), "object": "chat.completion",
        "created": int(time.time()), "model": body.get("model", ""),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content,
                                             "refusal": None},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }  # fmt: skip
