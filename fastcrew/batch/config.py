"""Batch settings, exit codes and the result: small frozen objects that pickle into workers.

The API key is held here but never shown: reprs mask it, and it reaches workers inside the
pickled config (not argv, not the environment of unrelated processes).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from .._loop import LoopKind
from .._options import check_options, masked_repr, option
from ..errors import ConfigurationError

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_LINE_BYTES",
    "DEFAULT_MAX_RESTARTS",
    "DEFAULT_PING_INTERVAL_S",
    "DEFAULT_PING_TIMEOUT_S",
    "EXIT_AUTH",
    "EXIT_BAD_INPUT",
    "EXIT_BUDGET",
    "EXIT_CONFIG",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_QUOTA",
    "EXIT_ROW_ERRORS",
    "EXIT_STORAGE",
    "EXIT_UNREACHABLE",
    "EXIT_WORKERS_FAILED",
    "BatchConfig",
    "BatchResult",
    "WorkerConfig",
]

EXIT_OK = 0
"""Every row has its line and every row succeeded."""
EXIT_INTERNAL = 1
"""Not a stop of ours: an unexpected error inside fastcrew (a bug), printed with its
traceback; the journal keeps what finished (re-run to resume). No run status maps to it."""
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
EXIT_UNREACHABLE = 68
"""The provider cannot be reached and no call of the run succeeded (EX_NOHOST: refused,
unknown host, no route); the rows not done were not started: resumable."""
EXIT_QUOTA = 69
"""The provider's quota is exhausted (EX_UNAVAILABLE); resumable when it resets."""
EXIT_STORAGE = 74
"""The journal or the output could not be written (EX_IOERR: disk full, file-size limit,
file or directory gone, no permission); resumable once the cause is fixed."""
EXIT_INTERRUPTED = 75
"""Stopped by SIGINT/SIGTERM (EX_TEMPFAIL), the first or a later one, at any moment of the
run; re-run the same command to resume."""
EXIT_AUTH = 77
"""The provider refused the API key (401/403, EX_NOPERM); the rows not done were not
started: resumable with the right key."""
EXIT_BUDGET = 79
"""``--max-cost`` was reached: no new row started, the rows in flight finished; resumable
with a higher cap (79: not a sysexits code, nor one of fastcrew's)."""

DEFAULT_CONCURRENCY = 100
DEFAULT_CHUNK_SIZE = 16
DEFAULT_MAX_RESTARTS = 3
DEFAULT_PING_INTERVAL_S = 1.0
DEFAULT_PING_TIMEOUT_S = 30.0
DEFAULT_MIN_WINDOW = 10_000
DEFAULT_MAX_LINE_BYTES = 1 << 20
"""Longer input lines become ``LineTooLong`` error rows without being read into memory."""

Mode = Literal["auto", "resume", "restart"]
Backend = Literal["local", "ray"]
Via = Literal["http", "batch-api"]
CrewSpec = str | Callable[[], Any]


def refuse_credentials(url: str, source: str) -> None:
    """A ConfigurationError when ``url`` holds ``user:password@`` (the message does not
    show them): the key goes in ``--api-key`` / ``$OPENAI_API_KEY``."""
    scheme, sep, rest = url.partition("://")
    netloc = rest.split("/", 1)[0] if sep else ""
    if "@" in netloc:
        shown = f"{scheme}://{netloc.rpartition('@')[2]}"
        raise ConfigurationError(
            f"{source} must not hold credentials (user:password@ before {shown}): give the "
            "key with --api-key or $OPENAI_API_KEY instead"
        )


def _price_spec(price: Any) -> Any:
    """A ``fastcrew.pricing.Price`` as its ``--price`` spec (workers get strings)."""
    if isinstance(price, str) or not hasattr(price, "output"):
        return price
    cached = "" if price.cached is None else f"/{price.cached!r}"
    return f"{price.model}={price.input!r}/{price.output!r}{cached}"


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
    itpm: int | None = None
    otpm: int | None = None
    model: str | None
    base_url: str | None
    api_key: str | None
    simulated: bool
    timeout: float | None
    max_line_bytes: int
    prices: tuple[str, ...] = ()
    """``--price`` specs (``MODEL=IN/OUT[/CACHED]``) over the price table."""
    via: Via = "http"
    """``batch-api``: LLM calls go to the supervisor (the provider's Batch API)."""
    cache: str | None = None
    """``--cache``: the response cache every LLM of the worker uses (an absolute path)."""
    supervisor_timeout: float = 2 * DEFAULT_PING_TIMEOUT_S
    """How long a worker waits for a silent (stopped) supervisor before it exits."""
    cwd: str = field(default_factory=os.getcwd)
    sys_path: tuple[str, ...] = field(default_factory=lambda: tuple(sys.path))

    def __repr__(self) -> str:
        return masked_repr(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchConfig:
    """Every option of a batch run, declared once: ``fastcrew batch``'s flags and
    :func:`fastcrew.run_batch`'s keywords are these fields (docs/cli.md)."""

    inputs: str = option(read="input")
    crew: CrewSpec | None = option(
        None,
        read="text",
        env=False,  # run_batch reads $FASTCREW_CREW, then pyproject.toml
        help="path/to/file.py:name or package.module:name (a zero-argument factory returning "
        "a Crew, a Crew, or a @CrewBase class). Default: $FASTCREW_CREW, else "
        "[tool.fastcrew] crew in ./pyproject.toml.",
    )
    flow: str | type | None = option(
        None,
        read="text",
        env=False,
        help="Instead of --crew: path/to/file.py:FlowClass or package.module:FlowClass, one "
        "flow per row. Default: $FASTCREW_FLOW, else [tool.fastcrew] flow in ./pyproject.toml.",
    )
    output: str = option(
        "results.jsonl",
        short="-o",
        read="path",
        help="Results, one line per input line, in input order (journal beside it).",
    )
    workers: int = option(0, ge=0, help="Worker processes; 0 = the CPU count (Ray: its CPUs).")
    concurrency: int = option(DEFAULT_CONCURRENCY, ge=1, help="Rows in flight per worker.")
    rpm: int | None = option(None, ge=1, help="Requests/min, all workers together.")
    tpm: int | None = option(None, ge=1, help="Tokens/min, all workers together.")
    itpm: int | None = option(
        None, ge=1, help="Input tokens/min, all workers together (Anthropic's ITPM)."
    )
    otpm: int | None = option(
        None, ge=1, help="Output tokens/min, all workers together (Anthropic's OTPM)."
    )
    model: str | None = option(None, help="Model for LLM() / batch lines ($MODEL).")
    base_url: str | None = option(None, help="OpenAI-compatible endpoint ($OPENAI_BASE_URL).")
    api_key: str | None = option(None, help="API key ($OPENAI_API_KEY); never printed.")
    simulate: Any = option(
        False,
        read="flag",
        help="Run against the built-in simulator (answers are simulated); see --sim.",
    )
    resume: bool = option(False, help="Insist on resuming (default: resume if possible).")
    restart: bool = option(False, help="Delete the output and journal; start over.")
    retry_failed: bool = option(False, help="Re-run the error rows of a finished output.")
    strict: bool = option(False, help="Stop at the first bad input line.")
    timeout: float | None = option(
        None, gt=0, help="Seconds per row; also bounds finishing in-flight rows after Ctrl-C."
    )
    progress: bool | None = option(None, help="Default: a bar on a terminal.")
    loop: LoopKind = option("uvloop", help="The event loop of the supervisor and workers.")
    window: int | None = option(None, ge=1, help="Reorder window, rows.")
    chunk_size: int = option(DEFAULT_CHUNK_SIZE, ge=1, help="Rows per dispatch.")
    max_line_bytes: int = option(DEFAULT_MAX_LINE_BYTES, ge=1, help="Longer lines: error rows.")
    max_restarts: int = option(DEFAULT_MAX_RESTARTS, ge=0, help="Per worker slot.")
    ping_interval: float = option(DEFAULT_PING_INTERVAL_S, gt=0, help="Seconds between pings.")
    ping_timeout: float = option(
        DEFAULT_PING_TIMEOUT_S, gt=0, help="A worker silent this long is replaced."
    )
    drain_timeout: float | None = option(
        None,
        gt=0,
        help="After the first SIGINT/SIGTERM, how long rows in flight may finish (default: "
        "SIGINT --timeout, else 60 s; SIGTERM 5 s).",
    )
    via: Via = option(
        "http",
        help="http: every LLM call is a request; batch-api: the rows' calls go out in rounds "
        "of Batch-API jobs (half price, no rate limits, hours; docs/batch-api.md).",
    )
    batch_api_max_requests: int = option(
        50_000, ge=1, help="--via batch-api: requests per job (OpenAI's limit: 50,000)."
    )
    batch_api_idle: float = option(
        2.0, gt=0, help="--via batch-api: a round goes out after this long without a new call."
    )
    batch_api_poll: float = option(
        10.0, gt=0, help="--via batch-api: seconds to the first look at a job (then x1.5, <= 60)."
    )
    prices: tuple[str, ...] | None = option(
        None,
        flag="--price",
        metavar="MODEL=IN/OUT[/CACHED]",
        help="A model's price in USD per million input/output[/cached input] tokens, over "
        "the genai-prices table (repeatable; docs/cost.md).",
    )
    max_cost: float | None = option(
        None,
        gt=0,
        metavar="USD",
        help="Start no new row once this run's spend (plus what the rows in flight may cost) "
        "would pass USD; exit 79, resumable (docs/cost.md).",
    )
    estimate: int | None = option(
        None,
        ge=1,
        metavar="N",
        help="Run N rows sampled evenly across the input (no output written) and print the "
        "projected cost and time of the whole input.",
    )
    cache: str | None = option(
        None,
        read="path",
        metavar="PATH",
        help="A response cache (SQLite file, shared by the workers): a call whose request was "
        "answered before is answered from it, at no cost and no rate budget (docs/cache.md).",
    )
    quiet: bool = option(False, short="-q", help="No progress, no summary on stderr.")
    backend: Backend | None = option(
        None,
        env=False,  # run_batch reads $FASTCREW_BATCH_BACKEND, then pyproject.toml
        help="local worker processes, or ray actors (pip install 'fastcrew[ray]'). Default: "
        "$FASTCREW_BATCH_BACKEND, else [tool.fastcrew] backend, else local.",
    )
    ray_address: str | None = option(
        None,
        help="--backend ray: auto | ray://HOST:PORT | HOST:PORT. Default: $RAY_ADDRESS, else "
        "a local Ray for the run.",
    )
    ray_runtime_env: dict[str, Any] | None = option(
        None,
        read="json",
        metavar="JSON",
        help="""--backend ray: Ray's runtime_env, e.g. '{"working_dir": "."}' to ship the crew.""",
    )

    def __post_init__(self) -> None:
        for name in ("inputs", "output"):  # a path-like becomes its string
            object.__setattr__(self, name, os.fspath(getattr(self, name)))
        if self.cache is not None:  # a path-like too; absolute: workers may chdir
            object.__setattr__(self, "cache", os.path.abspath(os.fspath(self.cache)))
        if isinstance(self.prices, (list, tuple, str)):  # run_batch(prices=[...]), one spec
            prices = [self.prices] if isinstance(self.prices, str) else self.prices
            object.__setattr__(self, "prices", tuple(_price_spec(p) for p in prices))
        check_options(self, ConfigurationError)
        if self.prices:
            from ..pricing import parse_price

            for spec in self.prices:
                parse_price(spec)  # ConfigurationError: what to write instead
        if self.resume and self.restart:
            raise ConfigurationError("resume and restart exclude each other")
        if self.retry_failed and self.restart:
            raise ConfigurationError("retry_failed needs the previous output; it excludes restart")
        if self.base_url is not None:
            refuse_credentials(self.base_url, "--base-url")
        if self.ping_timeout < 2 * self.ping_interval:
            raise ConfigurationError(
                f"ping_timeout ({self.ping_timeout:g} s) must be at least twice ping_interval "
                f"({self.ping_interval:g} s), or healthy workers could be taken for hung ones"
            )

    def __repr__(self) -> str:
        return masked_repr(self)

    @property
    def mode(self) -> Mode:
        """``"restart"``, ``"resume"`` (insisted on) or ``"auto"`` (resume when possible)."""
        return "restart" if self.restart else "resume" if self.resume else "auto"

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
    def batch_api_path(self) -> str:
        """The Batch-API journal beside the output (``.d/`` and ``.sqlite`` beside it)."""
        return self.output + ".batchapi"

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
    ``"auth_failed"`` (the key was refused), ``"provider_unreachable"`` (no connection before
    any call succeeded), ``"bad_input"`` (``strict``), ``"workers_failed"`` or
    ``"storage_error"`` (the journal or the output could not be written) or
    ``"budget_exhausted"`` (``max_cost`` reached); all but the first are resumable.
    With ``estimate``: ``"estimate"`` (exit 0), ``summary`` holding the projection.
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
