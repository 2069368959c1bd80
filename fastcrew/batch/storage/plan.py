"""Deciding what a run does with the files it finds: start, resume, rewrite, or nothing.

Given the output path, its journal and the input's identity:

=================================  ==============================================================
state found                        what happens
=================================  ==============================================================
no journal, no output              **fresh**: new journal, empty output
no journal, output exists          refused (``--restart`` to overwrite)
journal in progress                **continue**: repair torn tails, keep the output's rows,
                                   append from there; rows in the journal are not run again
journal complete                   nothing to do (``--retry-failed``: **rewrite** with the
                                   error rows re-run; an interrupted retry pass is finished)
input hash differs                 refused (``--restart`` to start over)
=================================  ==============================================================

Journal records that fail their check are not finished rows (they run again). Rows the
previous run left (the journal's rows past the output's end, the untouched rows of a
rewritten output) are copied before the run starts, in bounded slices. The journal is
compacted only once the output is verified to hold every row: its size is what the writer
wrote and it is still the file the run opened.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..._json import loads
from ...errors import ConfigurationError
from ..config import BatchConfig
from ..rows import is_error_row
from .inputs import STDIN, InputIdentity
from .journal import OK, Journal, JournalError, JournalState, compact, header, scan, sync_dir
from .ordered_writer import BaseFilePrior, JournalPrior, OrderedWriter
from .output import storage_error

__all__ = ["Plan", "make_plan", "remove_flow_store", "remove_outputs"]

_BLOCK = 1 << 20


@dataclass
class Plan:
    """The files and rules of one run."""

    kind: str
    """``fresh``, ``continue``, ``rewrite`` or ``complete`` (nothing to run)."""
    config: BatchConfig
    head: dict[str, Any]
    journal: Journal | None = None
    writer: OrderedWriter | None = None
    skip: Callable[[int], bool] = lambda _: False
    attempts: Callable[[int], int] = lambda _: 1
    verify: JournalState | None = None
    prior_ok: int = 0
    prior_error: int = 0
    resumed_rows: int = 0
    rerun: int = 0
    total_rows: int | None = None
    notes: list[str] = field(default_factory=list)
    """What the plan found and repaired, for the log."""
    _fds: list[int] = field(default_factory=list)

    def finish(self, complete: bool) -> None:
        """Make the files durable; on completion, put the rewritten output in place and
        compact the journal."""
        config = self.config
        writer = self.writer
        if writer is not None:
            os.fsync(writer.fd)
            if complete:  # never compact the journal over rows the output does not hold
                self._verify(writer, config.tmp_path if self.kind == "rewrite" else config.output)
        if self.journal is not None:
            self.journal.sync()
        self.close()
        if complete and writer is not None:
            if self.kind == "rewrite":
                os.replace(config.tmp_path, config.output)
                sync_dir(config.output)
            compact(config.journal_path, self.head, writer.next)
        elif self.kind == "rewrite" and os.path.exists(config.tmp_path):
            os.remove(config.tmp_path)

    @staticmethod
    def _verify(writer: OrderedWriter, path: str) -> None:
        """Raise ``OSError`` unless ``path`` is the file written and holds what was written."""
        writer.check_size()
        opened = os.fstat(writer.fd)
        now = os.stat(path)
        if (now.st_dev, now.st_ino) != (opened.st_dev, opened.st_ino):
            raise OSError(errno.ESTALE, "the file was replaced during the run", path)

    def close(self) -> None:
        """Close every file the plan opened (idempotent)."""
        if self.journal is not None:
            self.journal.close()
        for fd in self._fds:
            os.close(fd)
        self._fds.clear()


def remove_outputs(config: BatchConfig) -> None:
    """``--restart``: delete the output, its journal, summary and temporary file, and the
    flows' row store."""
    for path in (config.output, config.journal_path, config.summary_path, config.tmp_path):
        if os.path.exists(path):
            os.remove(path)
    remove_flow_store(config)


def remove_flow_store(config: BatchConfig) -> None:
    """Delete the row store of ``@persist`` flows (and SQLite's WAL files beside it)."""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(config.flows_path + suffix):
            os.remove(config.flows_path + suffix)


def _count_lines(path: str, *, repair: bool) -> tuple[int, int]:
    """(complete lines, bytes up to the last newline); ``repair`` cuts a torn last line."""
    lines = 0
    end = 0
    size = 0
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(_BLOCK):
            n = chunk.count(b"\n")
            if n:
                lines += n
                end = size + chunk.rfind(b"\n") + 1
            size += len(chunk)
    if repair and end < size:
        with open(path, "r+b") as f:
            f.truncate(end)
    return lines, end


def _last_line(path: str, end: int) -> bytes:
    with open(path, "rb") as f:
        step = 4096
        start = end - 1
        while start > 0:
            start = max(0, start - step)
            f.seek(start)
            block = f.read(end - 1 - start)
            nl = block.rfind(b"\n")
            if nl >= 0:
                start += nl + 1
                break
            step *= 2
        f.seek(start)
        return f.read(end - 1 - start)


def _check_input(state: JournalState, identity: InputIdentity, config: BatchConfig) -> None:
    recorded = state.header.get("input") or {}
    was_stdin = recorded.get("path") == STDIN
    is_stdin = identity.path == STDIN
    if was_stdin != is_stdin or (not is_stdin and recorded.get("sha256") != identity.sha256):
        where = recorded.get("path")
        raise ConfigurationError(
            f"the input changed since {config.output} was started (the journal was written "
            f"for {where!r}{'' if was_stdin else ' with a different content hash'}); "
            "use --restart to start over"
        )


def make_plan(config: BatchConfig, identity: InputIdentity) -> Plan:
    """Inspect the output, its journal and the input; open what the run needs and copy the
    rows a previous run left. Raises :class:`~fastcrew.errors.StorageError` when a file
    cannot be written."""
    try:
        plan = _plan(config, identity)
    except OSError as exc:
        raise storage_error(exc.filename or config.output, exc, "prepare") from None
    if plan.writer is not None:
        try:
            plan.writer.flush()  # the previous run's rows, before the event loop starts
        except OSError as exc:
            plan.close()
            path = config.tmp_path if plan.kind == "rewrite" else config.output
            raise storage_error(path, exc) from None
    return plan


def _plan(config: BatchConfig, identity: InputIdentity) -> Plan:
    head = header(identity.to_json())
    journal_path = config.journal_path
    output = config.output
    if config.mode == "restart":
        remove_outputs(config)
    if not os.path.exists(journal_path):
        if config.mode == "resume":
            raise ConfigurationError(f"nothing to resume: {journal_path} does not exist")
        if config.retry_failed:
            raise ConfigurationError(
                f"nothing to retry: {journal_path} does not exist (run the batch first)"
            )
        if os.path.exists(output) and os.path.getsize(output) > 0:
            raise ConfigurationError(
                f"{output} exists but has no journal, so it was not written by this batch; "
                "use --restart to overwrite it, or choose another -o"
            )
        return _fresh(config, head, identity)
    try:
        state = scan(journal_path)
    except JournalError as exc:
        raise ConfigurationError(f"{exc} (use --restart to start over)") from None
    _check_input(state, identity, config)
    head = state.header
    if state.complete is None:
        if config.retry_failed:
            raise ConfigurationError(
                f"the run writing {output} has not finished: run the same command without "
                "--retry-failed to resume it first"
            )
        return _continue(config, head, state, identity)
    return _finished(config, head, state, identity)


def _open_out(path: str, truncate: bool) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    if truncate:
        flags |= os.O_TRUNC
    return os.open(path, flags, 0o644)


def _fresh(config: BatchConfig, head: dict[str, Any], identity: InputIdentity) -> Plan:
    remove_flow_store(config)  # rows saved there belong to a run whose journal is gone
    plan = Plan("fresh", config, head, total_rows=identity.lines)
    fd = _open_out(config.output, truncate=True)
    plan._fds.append(fd)
    plan.writer = OrderedWriter(fd, 0)
    plan.journal = Journal(config.journal_path, head)
    return plan


def _continue(
    config: BatchConfig, head: dict[str, Any], state: JournalState, identity: InputIdentity
) -> Plan:
    output = config.output
    written = end = 0
    if os.path.exists(output):
        written, end = _count_lines(output, repair=True)
        consistent = written <= len(state.status) and (
            written == 0
            or (
                state.status.find(b"\x00", 0, written) == -1
                and _last_line(output, end) == _journal_row(config.journal_path, state, written - 1)
            )
        )
        if not consistent:  # the output does not match the journal: rebuild it from there
            written = 0
    plan = Plan("continue", config, head, total_rows=identity.lines)
    if state.corrupt:
        plan.notes.append(
            f"{config.journal_path}: {state.corrupt} record(s) failed their check and were "
            "skipped; those rows run again"
        )
    fd = _open_out(output, truncate=written == 0)
    read_fd = os.open(config.journal_path, os.O_RDONLY)
    plan._fds += [fd, read_fd]
    offset = end if written else 0
    plan.writer = OrderedWriter(fd, written, JournalPrior(read_fd, state), offset)
    plan.journal = Journal(config.journal_path)
    plan.skip = state.has
    plan.verify = state if identity.path == STDIN else None
    plan.prior_ok, plan.prior_error = state.counts()
    plan.resumed_rows = state.records
    return plan


def _journal_row(path: str, state: JournalState, index: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(state.offset[index])
        return f.read(state.length[index])


def _finished(
    config: BatchConfig, head: dict[str, Any], state: JournalState, identity: InputIdentity
) -> Plan:
    output = config.output
    rows = state.complete or 0
    lines = _count_lines(output, repair=False)[0] if os.path.exists(output) else -1
    if lines != rows:
        raise ConfigurationError(
            f"{output} changed since its run completed ({rows} rows recorded, "
            f"{max(lines, 0)} found); use --restart to start over"
        )
    overrides: dict[int, bytes] = {}
    if state.records:
        with open(config.journal_path, "rb") as f:
            for index in range(len(state.status)):
                if state.has(index):
                    f.seek(state.offset[index])
                    overrides[index] = f.read(state.length[index])
    rerun: set[int] = set()
    attempts: dict[int, int] = {}
    starts = {0: 0}  # byte offsets of the rows around the rerun and overridden ones
    ok = error = pos = 0
    with open(output, "rb") as f:
        for index, line in enumerate(f):
            if index >= rows:
                break
            row = overrides.get(index, line)
            failed = state.status[index] != OK if index in overrides else is_error_row(row)
            if index in overrides or (failed and config.retry_failed):
                starts[index] = pos
                starts[index + 1] = pos + len(line)
            pos += len(line)
            if failed and config.retry_failed:
                rerun.add(index)
                found = loads(row).get("error")
                previous = found.get("attempts", 1) if isinstance(found, dict) else 1
                attempts[index] = int(previous or 1) + 1
            elif failed:
                error += 1
            else:
                ok += 1
    plan = Plan("complete", config, head, total_rows=rows, prior_ok=ok, prior_error=error)
    plan.resumed_rows = rows - len(rerun)
    if state.corrupt:
        plan.notes.append(
            f"{config.journal_path}: {state.corrupt} record(s) failed their check and were "
            "skipped; those rows keep their previous line"
        )
    if not rerun and not overrides:
        return plan
    starts[rows] = pos
    plan.kind = "rewrite"
    plan.rerun = len(rerun)
    fd = _open_out(config.tmp_path, truncate=True)
    base = os.open(output, os.O_RDONLY)
    plan._fds += [fd, base]
    plan.writer = OrderedWriter(fd, 0, BaseFilePrior(base, rows, rerun, overrides, starts))
    plan.journal = Journal(config.journal_path)
    plan.skip = lambda i: i not in rerun
    plan.attempts = lambda i: attempts.get(i, 1)
    return plan
