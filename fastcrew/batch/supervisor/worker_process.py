"""One local worker process: spawn, the socketpair channel, the wire protocol, kill, reap.

The worker is a fresh interpreter (``python -m fastcrew.batch.worker FD``, spawn semantics;
see docs/batch.md) holding one end of a socketpair. :meth:`WorkerProcess.serve` sends it its
config, then turns every message it sends (:mod:`~fastcrew.batch.wire.messages`) into a
:data:`~fastcrew.batch.supervisor.events.WorkerEvent` (the message and its slot) for the sink,
until the socket closes.
The commands going the other way are methods (:meth:`send_rows`, :meth:`ping`, ...).
:func:`decode` is the wire → event mapping, shared by any backend that speaks the same
protocol over another :class:`~fastcrew.batch.wire.channel.Channel` (e.g. Ray actors).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from ..config import WorkerConfig
from ..wire.channel import Channel, open_channel
from ..wire.messages import (
    Configure,
    Defer,
    Done,
    Fatal,
    Give,
    Hello,
    Observe,
    Pause,
    Pong,
    Quota,
    Ready,
    Rows,
    Started,
    Unavailable,
    Unfinished,
    Want,
    WireRow,
)
from .events import (
    BudgetMessage,
    CallsDeferred,
    ProviderUnavailable,
    QuotaExhausted,
    RoomFor,
    RowsFinished,
    RowsReturned,
    RowsStarted,
    RowTask,
    WorkerEvent,
    WorkerFailedToStart,
    WorkerStats,
    WorkerUp,
)

__all__ = [
    "EarlyWorkers",
    "Launcher",
    "WorkerHandle",
    "WorkerProcess",
    "decode",
    "encode_rows",
    "launch_local",
]

Sink = Callable[[WorkerEvent], None]
HIDDEN_ENV = ("FASTCREW_BATCH_API_KEY", "FASTCREW_SIM_API_KEY")
"""Keys fastcrew itself reads from the environment, removed from a worker's: it gets the
run's key in its config (``/proc/PID/environ`` is readable by the same user, ``ps eww``)."""
EXIT_WAIT_S = 5.0
"""How long a worker whose socket closed may take to exit before it is killed."""


def decode(slot: int, message: Any) -> WorkerEvent | None:
    """A worker's wire message as a typed event (None for one this side does not know)."""
    match message:
        case Done(results):
            return RowsFinished(slot, results)
        case Ready(rows):
            return RoomFor(slot, rows)
        case Started(indices):
            return RowsStarted(slot, indices)
        case Want() | Give() | Pause() | Observe():
            return BudgetMessage(slot, message)
        case Pong(_, stats):
            return WorkerStats(slot, stats)
        case Unfinished(indices):
            return RowsReturned(slot, indices)
        case Hello(pid, startup):
            return WorkerUp(slot, pid, startup)
        case Fatal(error, text):
            return WorkerFailedToStart(slot, error, text)
        case Quota(text):
            return QuotaExhausted(slot, text)
        case Unavailable(kind, text):
            return ProviderUnavailable(slot, kind, text)
        case Defer(calls):
            return CallsDeferred(slot, calls)
    return None


def encode_rows(tasks: list[RowTask]) -> Rows:
    """The :class:`~fastcrew.batch.wire.messages.Rows` command for a chunk."""
    rows = []
    for t in tasks:
        assert t.row.raw is not None  # an oversize row is answered by the supervisor itself
        rows.append(WireRow(t.row.index, t.row.line, t.row.raw, t.attempts))
    return Rows(rows)


class WorkerHandle(Protocol):
    """The ``subprocess.Popen`` subset a worker's process (or actor) offers."""

    @property
    def pid(self) -> int | None:
        """The process id (None if unknown)."""
        ...

    @property
    def returncode(self) -> int | None:
        """The exit code once it exited, else None."""
        ...

    def poll(self) -> int | None:
        """The exit code, or None while it runs."""
        ...

    def kill(self) -> None:
        """Kill it now."""
        ...

    def wait(self, timeout: float | None = None) -> int:
        """Block until it exits (``subprocess.TimeoutExpired`` after ``timeout``)."""
        ...


Launcher = Callable[[int], Awaitable[tuple[WorkerHandle, socket.socket]]]
"""Starts the worker for a slot: its handle and the supervisor's end of a connected socket
(the worker at the other end reads its config first)."""


async def launch_local(slot: int) -> tuple[WorkerHandle, socket.socket]:
    """A fresh local interpreter (``python -m fastcrew.batch.worker FD``) on a socketpair."""
    return _popen_worker()


class EarlyWorkers:
    """Local workers started before the run is planned, so their start-up (the interpreter,
    the runtime's imports: about half a CPU second each) overlaps the supervisor's own (the
    input's hash and line count, the plan, the journal). A :data:`Launcher` handing slot
    ``n``'s first launch the ``n``-th of them, and any later one (a restart) a fresh process.

    A worker does nothing but import until it reads its config, which the pool sends as
    usual when it serves the slot. :meth:`close` kills and reaps the ones never handed out
    (the run stopped before its pool started, or started fewer workers).
    """

    def __init__(self, count: int) -> None:
        self._waiting: dict[int, tuple[WorkerHandle, socket.socket]] = {}
        try:
            for slot in range(count):
                self._waiting[slot] = _popen_worker()
        except BaseException:
            self.close()
            raise

    async def __call__(self, slot: int) -> tuple[WorkerHandle, socket.socket]:
        early = self._waiting.pop(slot, None)
        return early if early is not None else _popen_worker()

    def close(self) -> None:
        """Kill and reap the workers no slot took."""
        waiting, self._waiting = self._waiting, {}
        for process, sock in waiting.values():
            sock.close()
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait()


def worker_environment() -> dict[str, str]:
    """The environment a worker starts with: ours without :data:`HIDDEN_ENV`."""
    return {name: value for name, value in os.environ.items() if name not in HIDDEN_ENV}


def _popen_worker() -> tuple[WorkerHandle, socket.socket]:
    # fork + exec returns at once: no need for a thread
    ours, theirs = socket.socketpair()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "fastcrew.batch.worker", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            close_fds=True,
            env=worker_environment(),
        )
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    return process, ours


class WorkerProcess:
    """The worker in pool slot ``slot`` (``restarts``: how often the slot was restarted
    before this one), started by a :data:`Launcher` (default: a local process)."""

    def __init__(self, slot: int, restarts: int, config: WorkerConfig) -> None:
        self.slot = slot
        self.restarts = restarts
        self.config = config
        self.channel: Channel | None = None
        self.hello = False
        self.last_seen = 0.0
        self.process: WorkerHandle | None = None
        self.pid: int | None = None
        self._sock: socket.socket | None = None

    async def start(self, launcher: Launcher = launch_local) -> None:
        """Start the worker (raises what the launcher raises)."""
        self.process, self._sock = await launcher(self.slot)
        self.pid = self.process.pid

    def __repr__(self) -> str:
        return f"worker {self.slot} (pid {self.pid})"

    @property
    def alive(self) -> bool:
        """Whether the process was started and has not been reaped yet."""
        return self.process is not None and self.process.returncode is None

    async def serve(self, sink: Sink) -> None:
        """Send the config, then report every message until the socket closes."""
        sock, self._sock = self._sock, None
        assert sock is not None
        loop = asyncio.get_running_loop()
        channel = self.channel = await open_channel(sock)
        channel.send(Configure(self.config))
        self.last_seen = loop.time()
        slot = self.slot
        try:
            while True:
                message = await channel.recv()
                if message is None:
                    return
                self.last_seen = loop.time()
                event = decode(slot, message)
                if event is None:
                    continue
                if type(event) is WorkerUp:
                    self.hello = True
                sink(event)
        finally:
            channel.close()

    # -- commands ------------------------------------------------------------------------

    def send(self, message: Any) -> None:
        """Queue one message of :mod:`~fastcrew.batch.wire.messages` (dropped once the
        channel is closed)."""
        if self.channel is not None:
            self.channel.send(message)

    def send_rows(self, tasks: list[RowTask]) -> None:
        """Hand the worker a chunk of rows."""
        self.send(encode_rows(tasks))

    def kill(self) -> None:
        """SIGKILL the process (if it still runs)."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    async def reap(self, grace: float = EXIT_WAIT_S) -> int | None:
        """Wait for the process to exit (killing it after ``grace`` seconds); its exit code."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            try:
                await asyncio.to_thread(process.wait, grace)
            except subprocess.TimeoutExpired:
                self.kill()
                await asyncio.to_thread(process.wait)
        if self._sock is not None:  # never served
            self._sock.close()
            self._sock = None
        return process.returncode
