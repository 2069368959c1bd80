"""The supervisor: reads input, hands out small chunks, journals and orders the results,
owns the global budget, watches the workers.

One event loop, no threads except the blocking input reads (``asyncio.to_thread``). Each
worker has a reader task; every state change (rows read, rows finished, a worker asking for
work or dying, a signal) ends in :meth:`Supervisor._dispatch` and :meth:`_check_done`.

- **Dynamic dispatch**: a worker asks for rows when it has room (``ready``); it gets a chunk
  of at most ``chunk_size`` rows (and its room), never a row ``window`` or more past the
  first unwritten one. Rows of a dead worker go out again first, in index order.
- **Journal first**: finished rows are appended to the journal before they reach the
  ordered writer, in one ``os.write`` per batch.
- **Liveness** by ping/pong: no message from a worker for ``ping_timeout`` → SIGKILL, and
  its death is handled when its socket closes, like a crash. A dead worker is replaced in its
  slot up to ``max_restarts`` times.
- **Signals** only enqueue; the first stops dispatching and drains (bounded), the second
  kills the workers at once. Both leave a resumable journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._json import loads
from ..errors import ConfigurationError
from .budget import GlobalBudgets
from .channel import Channel, open_channel
from .config import BatchConfig, WorkerConfig
from .inputs import LineReader, RawRow
from .journal import Journal, JournalState, record
from .rows import BAD, OK, oversize_row
from .writer import OrderedWriter

__all__ = ["Counters", "Supervisor"]

READ_ROWS = 2048
DEFAULT_DRAIN_S = 60.0
STARTUP_TIMEOUT_S = 120.0


@dataclass
class Counters:
    """What happened in this run (the summary and the progress bar read these)."""

    rows_ok: int = 0
    rows_error: int = 0
    rows_skipped: int = 0
    requests: int = 0
    tokens: int = 0
    worker_deaths: int = 0
    redispatched: int = 0
    dispatched: int = 0
    started: float = field(default_factory=time.monotonic)
    worker_stats: dict[int, dict[str, Any]] = field(default_factory=dict)
    stats_of_dead: dict[str, int] = field(default_factory=dict)

    def worker_total(self, name: str) -> int:
        """A counter summed over the workers (dead ones included)."""
        return self.stats_of_dead.get(name, 0) + sum(
            s.get(name, 0) for s in self.worker_stats.values()
        )


class _Worker:
    __slots__ = (
        "alive",
        "channel",
        "hello",
        "inflight",
        "last_seen",
        "pid",
        "process",
        "ready",
        "restarts",
        "slot",
        "task",
    )

    def __init__(self, slot: int, restarts: int) -> None:
        self.slot = slot
        self.restarts = restarts
        self.process: Any = None
        self.channel: Channel | None = None
        self.pid: int | None = None
        self.inflight: dict[int, tuple[RawRow, int]] = {}
        self.ready = 0
        self.last_seen = 0.0
        self.hello = False
        self.alive = True
        self.task: asyncio.Task[None] | None = None


class Supervisor:
    """Runs one batch over the plan's reader, writer and journal."""

    def __init__(
        self,
        config: BatchConfig,
        worker_config: WorkerConfig,
        *,
        reader: LineReader,
        writer: OrderedWriter,
        journal: Journal,
        skip: Callable[[int], bool],
        attempts: Callable[[int], int],
        verify: JournalState | None = None,
        on_tick: Callable[[Supervisor], None] | None = None,
        log: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.config = config
        self.worker_config = worker_config
        self.reader = reader
        self.writer = writer
        self.journal = journal
        self.skip = skip
        self.attempts = attempts
        self.verify = verify
        self.on_tick = on_tick
        self.log = log
        self.window = config.reorder_window
        self.counters = Counters()
        self.buffer: deque[RawRow] = deque()
        self.redispatch: deque[tuple[RawRow, int]] = deque()
        self.eof = False
        self.reading = False
        self.workers: list[_Worker] = []
        self.ready: deque[_Worker] = deque()
        self.stop_reason: str | None = None
        self.stop_message: str | None = None
        self.signals = 0
        self.budgets: GlobalBudgets | None = None
        self._finished: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._signal_queue: asyncio.Queue[int] = asyncio.Queue()
        self._fatal: str | None = None
        self._first_hello: asyncio.Future[None] | None = None
        self._drain_timer: asyncio.TimerHandle | None = None
        self._ping_seq = 0

    # -- the run -----------------------------------------------------------------------

    async def run(self) -> None:
        """Run until every row is finished, or a stop; raises ConfigurationError when the
        workers cannot start (no LLM configured, the crew does not load)."""
        loop = self._loop = asyncio.get_running_loop()
        self._finished = loop.create_future()
        self._first_hello = loop.create_future()
        self.budgets = GlobalBudgets(self._send, loop, rpm=self.config.rpm, tpm=self.config.tpm)
        handled = self._install_signals(loop)
        tasks: list[asyncio.Task[Any]] = []
        try:
            await self._start_reading()
            for slot in range(self.config.workers):
                self._spawn(slot, 0)
            # Signals are acted on while the workers load the crew, too (that can be slow).
            tasks.append(loop.create_task(self._signal_handler()))
            await asyncio.wait(
                [self._first_hello, self._finished],
                timeout=STARTUP_TIMEOUT_S,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if self._fatal is not None:
                raise ConfigurationError(self._fatal)
            if not self._first_hello.done() and not self._finished.done():
                raise ConfigurationError("no worker started within two minutes")
            tasks.append(loop.create_task(self._ticker()))
            self._dispatch()
            self._check_done()
            await self._finished
        finally:
            self._finish()  # from here on, a worker that exits is not replaced
            for task in tasks:
                task.cancel()
            for sig in handled:
                loop.remove_signal_handler(sig)
            await self._shutdown()
            self.budgets.close()

    def _install_signals(self, loop: asyncio.AbstractEventLoop) -> list[int]:
        if threading.current_thread() is not threading.main_thread():
            return []
        handled = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._signal_queue.put_nowait, int(sig))
                handled.append(sig)
        return handled

    async def _signal_handler(self) -> None:
        while True:
            sig = await self._signal_queue.get()
            self.signals += 1
            name = signal.Signals(sig).name
            if self.signals == 1:
                self.log(
                    f"{name}: finishing the rows in flight, then stopping "
                    "(again to stop at once; the run stays resumable)"
                )
                self._stop("interrupted")
            else:
                self.log(f"{name} again: stopping now (the run stays resumable)")
                self._hard_stop()

    # -- input -------------------------------------------------------------------------

    async def _start_reading(self) -> None:
        """Fill the buffer; for a resumed stdin stream first check every finished row's
        digest (before anything is dispatched)."""
        verify = self.verify
        if verify is not None:
            last = len(verify.status) - 1
            while self.reader.index <= last and not self.reader.done:
                rows = await self._read()
                for row in rows:
                    if verify.has(row.index):
                        if verify.digest[row.index] != row.digest:
                            raise ConfigurationError(
                                f"the input changed since the journal was written (line "
                                f"{row.line} differs); use --restart to start over"
                            )
                    else:
                        self.buffer.append(row)
        self.buffer.extend(await self._read())
        self.eof = self.reader.done

    async def _read(self) -> list[RawRow]:
        """The next rows; an input that cannot be read (a truncated ``.gz``, an I/O error)
        is a ConfigurationError naming where it broke."""
        try:
            return await asyncio.to_thread(self.reader.read, READ_ROWS)
        except Exception as exc:
            raise ConfigurationError(
                f"cannot read {self.config.inputs} after line {self.reader.line:,}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def _maybe_read(self) -> None:
        if self.reading or self.eof or len(self.buffer) >= READ_ROWS // 2:
            return
        self.reading = True
        assert self._loop is not None
        self._loop.create_task(self._read_more())

    async def _read_more(self) -> None:
        try:
            rows = await self._read()
        except ConfigurationError as exc:  # the rows read so far finish; resumable
            self._stop("bad_input", str(exc))
            return
        finally:
            self.reading = False
        self.buffer.extend(rows)
        self.eof = self.reader.done
        self._dispatch()
        self._check_done()

    # -- dispatch ----------------------------------------------------------------------

    def _take(self, limit: int) -> list[tuple[RawRow, int]]:
        out: list[tuple[RawRow, int]] = []
        redispatch = self.redispatch
        buffer = self.buffer
        writer = self.writer
        while len(out) < limit:
            if redispatch:
                out.append(redispatch.popleft())
                continue
            if not buffer:
                break
            row = buffer[0]
            if self.skip(row.index):
                buffer.popleft()
                self.counters.rows_skipped += 1
                continue
            if row.index >= writer.next + self.window:
                writer.flush()
                if row.index >= writer.next + self.window:
                    break
            buffer.popleft()
            if row.raw is None:
                self._oversize(row)
                if self.stop_reason is not None:
                    break
                continue
            out.append((row, self.attempts(row.index)))
        return out

    def _oversize(self, row: RawRow) -> None:
        line = oversize_row(row.index, row.line, row.size, self.config.max_line_bytes)
        if self.config.strict:
            self._strict_stop(row.line, line)
            return
        self.journal.append([record(row.index, "error", row.digest, line)])
        self.counters.rows_error += 1
        self.writer.add(row.index, line)

    def _dispatch(self) -> None:
        if self.stop_reason is not None:
            return
        ready = self.ready
        while ready:
            worker = ready[0]
            if not worker.alive or not worker.ready or worker.channel is None:
                ready.popleft()
                continue
            chunk = self._take(min(worker.ready, self.config.chunk_size))
            if not chunk:
                break
            ready.popleft()
            worker.ready = 0
            for item in chunk:
                worker.inflight[item[0].index] = item
            self.counters.dispatched += len(chunk)
            worker.channel.send(("rows", [(row.index, row.line, row.raw, n) for row, n in chunk]))
        self._maybe_read()

    # -- results -----------------------------------------------------------------------

    def _on_done(
        self, worker: _Worker, results: list[tuple[int, int, bytes, tuple[int, int]]]
    ) -> None:
        lines: list[bytes] = []
        rows: list[tuple[int, bytes]] = []
        counters = self.counters
        for index, kind, row, (requests, tokens) in results:
            item = worker.inflight.pop(index, None)
            if item is None:
                continue
            raw_row = item[0]
            if kind == BAD and self.config.strict:
                self._strict_stop(raw_row.line, row)
                continue
            if kind == OK:
                counters.rows_ok += 1
                status = "ok"
            else:
                counters.rows_error += 1
                status = "error"
            counters.requests += requests
            counters.tokens += tokens
            lines.append(record(index, status, raw_row.digest, row))
            rows.append((index, row))
        self.journal.append(lines)
        self.writer.add_many(rows)

    def _on_unfinished(self, worker: _Worker, indices: list[int]) -> None:
        back = [worker.inflight.pop(i) for i in indices if i in worker.inflight]
        if self.stop_reason is None and back:
            self._requeue(back)

    def _requeue(self, items: list[tuple[RawRow, int]]) -> None:
        self.counters.redispatched += len(items)
        merged = sorted([*self.redispatch, *items], key=lambda item: item[0].index)
        self.redispatch = deque(merged)

    def _strict_stop(self, line: int, row: bytes) -> None:
        try:
            error = loads(row).get("error") or {}
            detail = f"{error.get('type')}: {error.get('message')}"
        except ValueError:
            detail = "bad input"
        self._stop("bad_input", f"line {line}: {detail}")

    # -- workers -----------------------------------------------------------------------

    def _spawn(self, slot: int, restarts: int) -> None:
        """Start a fresh interpreter for ``slot`` (spawn semantics, see docs/batch.md)."""
        worker = _Worker(slot, restarts)
        ours, theirs = socket.socketpair()
        try:
            worker.process = subprocess.Popen(
                [sys.executable, "-m", "fastcrew.batch.worker", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                close_fds=True,
            )
        finally:
            theirs.close()
        worker.pid = worker.process.pid
        assert self._loop is not None
        worker.last_seen = self._loop.time()
        if slot < len(self.workers):
            self.workers[slot] = worker
        else:
            self.workers.append(worker)
        worker.task = self._loop.create_task(self._serve_worker(worker, ours))

    async def _serve_worker(self, worker: _Worker, sock: socket.socket) -> None:
        assert self._loop is not None
        assert self.budgets is not None
        channel = worker.channel = await open_channel(sock)
        channel.send(("config", self.worker_config))
        budgets = self.budgets
        loop = self._loop
        try:
            while True:
                message = await channel.recv()
                if message is None:
                    break
                worker.last_seen = loop.time()
                kind = message[0]
                if kind == "done":
                    self._on_done(worker, message[1])
                elif kind == "ready":
                    worker.ready = message[1]
                    self.ready.append(worker)
                elif kind in ("want", "give", "pause", "observe"):
                    budgets.handle(worker.slot, message)
                    continue
                elif kind == "pong":
                    self.counters.worker_stats[worker.slot] = message[2]
                    continue
                elif kind == "unfinished":
                    self._on_unfinished(worker, message[1])
                elif kind == "hello":
                    worker.hello = True
                    budgets.add_worker(worker.slot)
                    for key, state in budgets.keys.items():
                        if state.limited:
                            channel.send(("limited", key, True))
                    if self._first_hello is not None and not self._first_hello.done():
                        self._first_hello.set_result(None)
                elif kind == "fatal":
                    text = f"{message[1]}: {message[2]}"
                    if self._first_hello is not None and not self._first_hello.done():
                        self._fatal = text
                        self._first_hello.set_result(None)
                    else:
                        self.log(f"worker {worker.slot} failed to start: {text}")
                elif kind == "quota":
                    self._stop("quota_exhausted", message[1])
                self._dispatch()
                self._check_done()
        finally:
            channel.close()
            await self._on_exit(worker)

    async def _on_exit(self, worker: _Worker) -> None:
        worker.alive = False
        assert self.budgets is not None
        self.budgets.remove_worker(worker.slot)
        stats = self.counters.worker_stats.pop(worker.slot, None)
        if stats:
            for name, value in stats.items():
                self.counters.stats_of_dead[name] = self.counters.stats_of_dead.get(name, 0) + value
        lost = list(worker.inflight.values())
        worker.inflight.clear()
        process = worker.process
        try:
            await asyncio.to_thread(process.wait, 5.0)
        except subprocess.TimeoutExpired:
            self._kill(worker)
            await asyncio.to_thread(process.wait)
        exitcode = process.returncode
        if self._first_hello is not None and not self._first_hello.done():
            self._fatal = self._fatal or f"worker {worker.slot} exited ({exitcode})"
            self._first_hello.set_result(None)
            return
        if self._finished is None or self._finished.done():
            return
        self.counters.worker_deaths += 1
        if self.stop_reason is None:
            if lost:
                self._requeue(lost)
            if worker.restarts < self.config.max_restarts:
                self.log(
                    f"worker {worker.slot} (pid {worker.pid}) died (exit code "
                    f"{exitcode}); {len(lost)} rows go out again; replacing it"
                )
                self._spawn(worker.slot, worker.restarts + 1)
            else:
                self._stop(
                    "workers_failed",
                    f"worker {worker.slot} died {worker.restarts + 1} times (last exit code "
                    f"{exitcode}); giving up after --max-restarts "
                    f"{self.config.max_restarts}",
                )
        self._dispatch()
        self._check_done()

    def _send(self, slot: int, message: tuple[Any, ...]) -> None:
        if slot < len(self.workers):
            channel = self.workers[slot].channel
            if channel is not None:
                channel.send(message)

    async def _ticker(self) -> None:
        assert self._loop is not None
        interval = self.config.ping_interval
        while True:
            await asyncio.sleep(interval)
            now = self._loop.time()
            self._ping_seq += 1
            for worker in self.workers:
                if not worker.alive or worker.channel is None:
                    continue
                if now - worker.last_seen > self.config.ping_timeout:
                    self.log(
                        f"worker {worker.slot} (pid {worker.pid}) did not answer for "
                        f"{now - worker.last_seen:.0f} s; killing it"
                    )
                    self._kill(worker)
                else:
                    worker.channel.send(("ping", self._ping_seq))
            if self.on_tick is not None:
                self.on_tick(self)

    def _kill(self, worker: _Worker) -> None:
        if worker.process is not None and worker.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                worker.process.kill()

    # -- stopping ----------------------------------------------------------------------

    def _stop(self, reason: str, message: str | None = None) -> None:
        if self.stop_reason is not None:
            return
        self.stop_reason = reason
        self.stop_message = message
        if message:
            self.log(message)
        for worker in self.workers:
            if worker.alive and worker.channel is not None:
                worker.channel.send(("drain",))
        drain = self.config.drain_timeout
        if drain is None:
            drain = self.config.timeout if self.config.timeout is not None else DEFAULT_DRAIN_S
        assert self._loop is not None
        self._drain_timer = self._loop.call_later(drain, self._drain_expired)
        self._check_done()

    def _drain_expired(self) -> None:
        self.log("rows still running after the drain timeout: stopping now")
        self._hard_stop()

    def _hard_stop(self) -> None:
        if self.stop_reason is None:
            self.stop_reason = "interrupted"
        for worker in self.workers:
            if worker.alive:
                self._kill(worker)
        self._finish()

    def _finish(self) -> None:
        if self._drain_timer is not None:
            self._drain_timer.cancel()
        if self._finished is not None and not self._finished.done():
            self._finished.set_result(None)

    def rows_in_flight(self) -> int:
        """Rows handed to workers and not back yet."""
        return sum(len(w.inflight) for w in self.workers if w.alive)

    def _check_done(self) -> None:
        if self._finished is None or self._finished.done():
            return
        if self.stop_reason is not None:
            if self.rows_in_flight() == 0:
                self.writer.flush()
                self._finish()
            return
        if self.eof and not self.buffer and not self.redispatch and not self.rows_in_flight():
            self.writer.flush()
            if self.writer.next >= self.reader.index:
                self._finish()

    @property
    def complete(self) -> bool:
        """Whether every input row has its output line."""
        return (
            self.stop_reason is None
            and self.eof
            and not self.buffer
            and self.writer.next >= self.reader.index
        )

    async def _shutdown(self) -> None:
        for worker in self.workers:
            if not worker.alive:
                continue
            if not worker.hello:
                self._kill(worker)  # still loading the crew: it holds no rows
            elif worker.channel is not None:
                worker.channel.send(("stop",))
        tasks = [w.task for w in self.workers if w.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=10.0)
            for worker in self.workers:
                if worker.alive:
                    self._kill(worker)
            if pending:
                await asyncio.wait(pending, timeout=10.0)
