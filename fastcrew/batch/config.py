"""Batch settings, exit codes and the result: small frozen objects that pickle into workers.

The API key is held here but never shown: reprs mask it, and it reaches workers inside the
pickled config (not argv, not the environment of unrelated processes).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from .._loop import LoopKind
from .inputs import DEFAULT_MAX_LINE_BYTES

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_RESTARTS",
    "DEFAULT_PING_INTERVAL_S",
    "DEFAULT_PING_TIMEOUT_S",
    "EXIT_BAD_INPUT",
    "EXIT_CONFIG",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_QUOTA",
    "EXIT_ROW_ERRORS",
    "EXIT_STORAGE",
    "EXIT_WORKERS_FAILED",
    "BatchConfig",
    "BatchResult",
    "WorkerConfig",
]

EXIT_OK = 0
"""Every row has its line and every row succeeded."""
EXIT_CONFIG = 2
"""Nothing ran: a bad option, no LLM configured, the crew (flow) did not load, the input
changed."""
EXIT_ROW_ERRORS = 3
"""The run finished (one line per input) but some rows are error rows."""
EXIT_WORKERS_FAILED = 4
"""Workers kept dying (restart budget spent); resumable."""
EXIT_BAD_INPUT = 65
"""``--strict`` stopped at a bad input line, or the input could not be read further
(EX_DATAERR); resumable once the input is fixed."""
EXIT_QUOTA = 69
"""The provider's quota is exhausted (EX_UNAVAILABLE); resumable when it resets."""
EXIT_STORAGE = 74
"""The journal or the output could not be written (EX_IOERR: disk full, file-size limit,
file or directory gone, no permission); resumable once the cause is fixed."""
EXIT_INTERRUPTED = 75
"""Stopped by SIGINT/SIGTERM (EX_TEMPFAIL), the first or a later one, at any moment of the
run; re-run the same command to resume."""

DEFAULT_CONCURRENCY = 100
DEFAULT_CHUNK_SIZE = 16
DEFAULT_MAX_RESTARTS = 3
DEFAULT_PING_INTERVAL_S = 1.0
DEFAULT_PING_TIMEOUT_S = 30.0
DEFAULT_MIN_WINDOW = 10_000

Mode = Literal["auto", "resume", "restart"]
Backend = Literal["local", "ray"]
CrewSpec = str | Callable[[], Any]


def _mask(obj: object) -> str:
    parts = []
    for f in dataclasses.fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        if f.name == "api_key" and value is not None:
            parts.append("api_key='***'")
        else:
            parts.append(f"{f.name}={value!r}")
    return f"{type(obj).__name__}({', '.join(parts)})"


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerConfig:
    """What a worker process needs; built by the supervisor, pickled into the child."""

    crew: CrewSpec | None
    flow: str | None = None
    """A ``path.py:FlowClass`` / ``module:FlowClass`` spec (excludes ``crew``)."""
    flow_store: str | None = None
    """The SQLite file where ``@persist`` flows save each row's progress (``--flow``)."""
    concurrency: int
    chunk_size: int
    loop: LoopKind
    rpm: int | None
    tpm: int | None
    model: str | None
    base_url: str | None
    api_key: str | None
    simulated: bool
    timeout: float | None
    max_line_bytes: int
    supervisor_timeout: float = 2 * DEFAULT_PING_TIMEOUT_S
    """How long a worker waits for a silent (stopped) supervisor before it exits."""
    cwd: str = field(default_factory=os.getcwd)
    sys_path: tuple[str, ...] = field(default_factory=lambda: tuple(sys.path))

    def __repr__(self) -> str:
        return _mask(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchConfig:
    """Every option of a batch run (see :func:`fastcrew.run_batch` and docs/cli.md)."""

    inputs: str
    output: str
    crew: CrewSpec | None = None
    flow: str | None = None
    workers: int = 1
    concurrency: int = DEFAULT_CONCURRENCY
    rpm: int | None = None
    tpm: int | None = None
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    simulate: Any = None
    """A ``fastcrew.sim.SimConfig`` when the run uses the built-in simulator."""
    mode: Mode = "auto"
    retry_failed: bool = False
    strict: bool = False
    timeout: float | None = None
    progress: bool | None = None
    loop: LoopKind = "uvloop"
    window: int | None = None
    chunk_size: int = DEFAULT_CHUNK_SIZE
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    max_restarts: int = DEFAULT_MAX_RESTARTS
    ping_interval: float = DEFAULT_PING_INTERVAL_S
    ping_timeout: float = DEFAULT_PING_TIMEOUT_S
    drain_timeout: float | None = None
    quiet: bool = False
    backend: Backend = "local"
    """Where the workers run: ``"local"`` processes or ``"ray"`` actors (docs/ray.md)."""
    ray_address: str | None = None
    """``backend="ray"``: the cluster (``auto``, ``ray://host:port``, ``host:port``); None
    follows Ray's rule ($RAY_ADDRESS, else a local Ray started for the run)."""
    ray_runtime_env: dict[str, Any] | None = None
    """``backend="ray"``: Ray's ``runtime_env`` for the run (``working_dir``,
    ``py_modules``, ``pip``, ``env_vars``) — how a crew module reaches the other nodes."""

    def __repr__(self) -> str:
        return _mask(self)

    @property
    def reorder_window(self) -> int:
        """Rows dispatched ahead of the first unwritten one (the reorder buffer's bound)."""
        if self.window is not None:
            return self.window
        return max(DEFAULT_MIN_WINDOW, 4 * self.workers * (self.concurrency + self.chunk_size))

    @property
    def journal_path(self) -> str:
        """The journal beside the output."""
        return self.output + ".journal"

    @property
    def flows_path(self) -> str:
        """The row store of ``@persist`` flows beside the output (``--flow``)."""
        return self.output + ".flows.sqlite"

    @property
    def summary_path(self) -> str:
        """The summary beside the output."""
        return self.output + ".summary.json"

    @property
    def tmp_path(self) -> str:
        """Where a rewritten output is built before it replaces the old one."""
        return self.output + ".tmp"


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The outcome of :func:`fastcrew.run_batch`.

    ``status``: ``"complete"`` (every row has its line), ``"interrupted"``, ``"quota_exhausted"``,
    ``"bad_input"`` (``strict``), ``"workers_failed"`` or ``"storage_error"`` (the journal or
    the output could not be written); all but the first are resumable.
    ``exit_code`` is what ``fastcrew batch`` exits with; ``summary`` is what was written to
    ``<output>.summary.json``.
    """

    status: str
    exit_code: int
    output: str
    rows_ok: int
    rows_error: int
    summary: dict[str, Any]

    @property
    def complete(self) -> bool:
        """Whether the output holds one line per input row."""
        return self.status == "complete"
