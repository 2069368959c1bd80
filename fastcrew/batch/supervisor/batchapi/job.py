"""One job from its journaled request file to its stored answers: upload, create, poll with
backoff, stream the output and error files down — resuming from wherever the journal says a
killed run stopped, without ever creating a second batch for the same requests."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ...._json import dumps, loads
from ....errors import LLMError
from ....llm.batch_api import FINAL_STATES, BatchAPI
from .journal import JobRecord, RoundJournal
from .store import AnswerStore

__all__ = ["METADATA_KEY", "JobOutcome", "JobRunner", "request_keys"]

T = TypeVar("T")
Answer = tuple[bytes, int, bytes]

METADATA_KEY = "fastcrew_round"
"""The batch's metadata field holding the job's token (found again after a kill)."""
_RETRY_STATUS = frozenset({408, 409, 429}) | frozenset(range(500, 600))
_CHUNK = 1000
_LIST_MARGIN_S = 600.0  # clocks differ: look back this far before the job's record


@dataclass(slots=True)
class JobOutcome:
    """How a job ended: the batch's final status, the keys to send again in a later round
    (failed with 429/5xx, expired, cancelled, never run) and the final errors. ``done``
    False: its batch exists but cannot be read now (a refused key): not journaled done,
    never submitted again, resumed by the next run."""

    status: str
    answered: int = 0
    retry: list[bytes] = field(default_factory=list)
    failed: list[Answer] = field(default_factory=list)
    done: bool = True


class JobRunner:
    """Runs jobs against ``api``, journaling each step in ``journal`` and storing answers in
    ``store``; ``on_answers`` gets each stored chunk, ``on_state`` each status seen."""

    def __init__(
        self,
        api: BatchAPI,
        journal: RoundJournal,
        store: AnswerStore,
        *,
        poll: float,
        max_poll: float = 60.0,
        on_answers: Callable[[list[Answer]], None],
        on_state: Callable[[JobRecord, str], None] = lambda job, status: None,
    ) -> None:
        self.api = api
        self.journal = journal
        self.store = store
        self.poll = poll
        self.max_poll = max(max_poll, poll)
        self.on_answers = on_answers
        self.on_state = on_state
        self.created = 0
        """Batches this runner created (not found again)."""
        self.found = 0
        """Batches found by their token after a kill between create and its record."""
        self._rng = random.Random()

    async def run(self, job: JobRecord) -> JobOutcome:
        """Take ``job`` to its end; every step already journaled is skipped. Transient
        errors are waited out; once a batch may exist its requests are never sent again."""
        try:
            if job.batch_id is None:
                await self._submit(job)
        except LLMError as exc:  # refused before any batch existed: the requests go again
            outcome = JobOutcome(f"error: {type(exc).__name__}", retry=request_keys(job.path))
        else:
            batch_id = job.batch_id
            assert batch_id is not None
            try:
                batch = await self._wait(job, batch_id)
                outcome = await self._patiently(lambda: self._collect(job, batch))
            except LLMError as exc:
                self.on_state(job, "unreadable")
                return JobOutcome(f"unreadable: {type(exc).__name__}: {exc}", done=False)
        self.journal.append({"t": "done", "job": job.job, "status": outcome.status})
        self.on_state(job, outcome.status)
        return outcome

    async def _submit(self, job: JobRecord) -> None:
        if job.creating:
            found = await self._find(job)
            if found is not None:
                self.found += 1
                self.journal.append({"t": "batch", "job": job.job, "batch_id": found})
                return
        if job.file_id is None:
            await self._upload(job)
        self.journal.append({"t": "creating", "job": job.job})
        self.on_state(job, "creating")
        delay = self.poll
        while True:
            try:
                batch = await self.api.create_batch(
                    job.file_id or "", metadata={METADATA_KEY: job.token}
                )
                break
            except LLMError as exc:
                if exc.status == 404:  # the uploaded file is gone: send it again
                    await self._upload(job)
                    continue
                if not exc.retryable:  # refused: no batch was made
                    raise
            # The create may have reached the provider before the connection failed: look
            # for it by its token before asking again.
            await asyncio.sleep(delay * (0.5 + self._rng.random() / 2))
            delay = min(delay * 2, self.max_poll)
            found = await self._find(job)
            if found is not None:
                self.found += 1
                self.journal.append({"t": "batch", "job": job.job, "batch_id": found})
                return
        self.created += 1
        self.journal.append({"t": "batch", "job": job.job, "batch_id": batch["id"]})

    async def _upload(self, job: JobRecord) -> None:
        self.on_state(job, "uploading")
        file = await self._patiently(lambda: self.api.upload(job.path))
        self.journal.append({"t": "file", "job": job.job, "file_id": file["id"]})

    async def _find(self, job: JobRecord) -> str | None:
        """The batch created for ``job`` before a kill cut its record, if the provider has it."""
        since = job.at - _LIST_MARGIN_S

        async def look() -> str | None:
            async for batch in self.api.batches():
                if (batch.get("metadata") or {}).get(METADATA_KEY) == job.token:
                    return str(batch["id"])
                if (batch.get("created_at") or 0) < since:
                    return None
            return None

        return await self._patiently(look)

    async def _wait(self, job: JobRecord, batch_id: str) -> dict[str, Any]:
        delay = self.poll
        while True:
            batch = await self._patiently(lambda: self.api.batch(batch_id))
            status = str(batch.get("status"))
            self.on_state(job, status)
            if status in FINAL_STATES:
                return batch
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, self.max_poll)

    async def _collect(self, job: JobRecord, batch: dict[str, Any]) -> JobOutcome:
        outcome = JobOutcome(str(batch.get("status")))
        seen: set[str] = set()
        chunk: list[Answer] = []

        def flush() -> None:
            if chunk:
                self.store.put_many(chunk)
                outcome.answered += len(chunk)
                self.on_answers(list(chunk))
                chunk.clear()

        for file_id in (batch.get("output_file_id"), batch.get("error_file_id")):
            if not file_id:
                continue
            self.on_state(job, "downloading")
            async for line in self.api.lines(file_id):
                item = loads(line)
                custom_id = item.get("custom_id")
                if not isinstance(custom_id, str) or custom_id in seen:
                    continue
                seen.add(custom_id)
                key = bytes.fromhex(custom_id)
                response = item.get("response")
                status = response.get("status_code") if isinstance(response, dict) else None
                if not isinstance(status, int) or status in _RETRY_STATUS:
                    outcome.retry.append(key)  # expired, cancelled, 429, 5xx
                elif status < 300:
                    chunk.append((key, status, dumps(response.get("body"))))
                    if len(chunk) >= _CHUNK:
                        flush()
                else:
                    outcome.failed.append((key, status, dumps(response.get("body"))))
            flush()
        outcome.retry.extend(key for key in request_keys(job.path) if key.hex() not in seen)
        return outcome

    async def _patiently(self, call: Callable[[], Awaitable[T]]) -> T:
        """``call()``, again after each transient failure (429, 5xx, a lost connection) with
        jittered backoff up to ``max_poll``, for as long as it takes (a provider's outage)."""
        delay = self.poll
        while True:
            try:
                return await call()
            except LLMError as exc:
                if not exc.retryable:
                    raise
            await asyncio.sleep(delay * (0.5 + self._rng.random() / 2))
            delay = min(delay * 2, self.max_poll)


def request_keys(path: str) -> list[bytes]:
    """The request keys of a job's request file (its ``custom_id`` s), in file order."""
    keys: list[bytes] = []
    with contextlib.suppress(FileNotFoundError), open(path, "rb") as file:
        for line in file:
            start = line.find(b'"custom_id":"') + 13
            keys.append(bytes.fromhex(line[start : start + 32].decode()))
    return keys
