"""The Batch-API journal (``<output>.batchapi``): every job's life, written before each step
that could cost money, so a kill -9 at any moment never submits a paid request twice.

JSON lines, each checked like the main journal (``,"c":"<crc32>"}`` over the bytes before
it; a torn or damaged line is skipped), appended with one ``os.write`` and fsynced::

    {"t": "job", "job": 3, "round": 2, "token": "…", "path": "…/job-3.jsonl", "model": "…",
     "requests": 812, "at": 1733580000.0}                   before the upload
    {"t": "file", "job": 3, "file_id": "file-…"}            after the upload
    {"t": "creating", "job": 3}                             before POST /v1/batches
    {"t": "batch", "job": 3, "batch_id": "batch_…"}         after it answered
    {"t": "done", "job": 3, "status": "completed"}          answers stored (or given up)

The job's request file (``path``) is written and fsynced before its ``job`` record, and
kept until the job is done: a resume re-uploads it if the upload never finished. A job with
``creating`` but no ``batch`` is looked for among the provider's batches by its
``metadata.fastcrew_round`` token before any new create.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from typing import Any

from ...._json import JSONDecodeError, dumps, loads

__all__ = ["JobRecord", "RoundJournal"]

_CHECK_LEN = 17  # len(b',"c":"01234567"}\n')


@dataclass(slots=True)
class JobRecord:
    """What the journal knows of one job (one request file, one batch)."""

    job: int
    round: int
    token: str
    path: str
    model: str
    requests: int
    at: float
    file_id: str | None = None
    creating: bool = False
    batch_id: str | None = None
    done: str | None = None


def _line(record: dict[str, Any]) -> bytes:
    body = dumps(record)[:-1]  # without the closing brace
    return body + b',"c":"%08x"}\n' % zlib.crc32(body)


def _parse(line: bytes) -> dict[str, Any] | None:
    if len(line) < _CHECK_LEN or not line.endswith(b'"}\n'):
        return None
    end = len(line) - _CHECK_LEN
    try:
        if zlib.crc32(line[:end]) != int(line[end + 6 : end + 14], 16):
            return None
        record: dict[str, Any] = loads(line[:end] + b"}")
    except (ValueError, JSONDecodeError):
        return None
    return record


class RoundJournal:
    """The open journal: :attr:`jobs` as read at opening, appended to as jobs move on."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.jobs: dict[int, JobRecord] = {}
        self.corrupt = 0
        self.rounds = 0
        if os.path.exists(path):
            self._load()
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _load(self) -> None:
        with open(self.path, "rb") as file:
            for line in file:
                record = _parse(line)
                if record is None:
                    self.corrupt += line.endswith(b"\n")  # a torn last line is no damage
                    continue
                self._apply(record)

    def _apply(self, record: dict[str, Any]) -> None:
        kind = record.get("t")
        if kind == "job":
            job = JobRecord(
                record["job"], record["round"], record["token"], record["path"],
                record["model"], record["requests"], record["at"],
            )  # fmt: skip
            self.jobs[job.job] = job
            self.rounds = max(self.rounds, job.round)
            return
        found = self.jobs.get(int(record.get("job", -1)))
        if found is None:
            return
        job = found
        if kind == "file":
            job.file_id = record["file_id"]
        elif kind == "creating":
            job.creating = True
        elif kind == "batch":
            job.batch_id = record["batch_id"]
        elif kind == "done":
            job.done = record["status"]

    def append(self, record: dict[str, Any]) -> None:
        """Write one record and fsync it (a step that costs money waits for this)."""
        data = _line(record)
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        os.fsync(self._fd)
        self._apply(record)

    def next_job(self) -> int:
        """The number of the next job."""
        return max(self.jobs, default=0) + 1

    def unfinished(self) -> list[JobRecord]:
        """Jobs journaled and not done, oldest first."""
        return [job for _, job in sorted(self.jobs.items()) if job.done is None]

    def close(self) -> None:
        """Close the file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
