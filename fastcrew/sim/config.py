"""``SimConfig``: every option of the simulator, with its documented default.

The config is frozen and picklable (it crosses process boundaries in ``spawn``) and its repr
masks the API key. ``to_cli_args`` turns it back into ``fastcrew sim`` options; the key is
never put on a command line (``spawn`` passes the config on the child's stdin).
"""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass
from typing import Any, Literal

from .._options import check_options, masked_repr, option

__all__ = [
    "API_KEY_ENV",
    "DEFAULT_BATCH_DELAY",
    "DEFAULT_BATCH_MAX_REQUESTS",
    "DEFAULT_COMPLETION_TOKENS",
    "DEFAULT_ECHO_CHARS",
    "DEFAULT_EMBEDDING_DIMENSIONS",
    "DEFAULT_FILE_MAX_BYTES",
    "DEFAULT_FILE_STORE_BYTES",
    "DEFAULT_HOST",
    "DEFAULT_JITTER_SIGMA",
    "DEFAULT_LIMIT_WINDOW_S",
    "DEFAULT_MODEL_NAME",
    "DEFAULT_PARALLEL_CALLS",
    "DEFAULT_PORT",
    "DEFAULT_TOOL_ROUNDS",
    "SimConfig",
    "ToolSupport",
    "check_loopback",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 0  # 0 = a free port chosen by the OS
DEFAULT_COMPLETION_TOKENS = 32
DEFAULT_ECHO_CHARS = 200
DEFAULT_EMBEDDING_DIMENSIONS = 1536  # text-embedding-3-small's
DEFAULT_JITTER_SIGMA = 0.5
DEFAULT_LIMIT_WINDOW_S = 60.0
DEFAULT_MODEL_NAME = "fastcrew-sim"
DEFAULT_TOOL_ROUNDS = 1
DEFAULT_PARALLEL_CALLS = 2
ToolSupport = Literal["native", "reject"]
API_KEY_ENV = "FASTCREW_SIM_API_KEY"

_RATES = ("fail_rate", "reset_rate", "stall_rate", "malformed_rate", "overloaded_rate")
DEFAULT_CACHE_MIN_TOKENS = 1024  # Anthropic's minimum cacheable prompt (Sonnet / Opus)
DEFAULT_BATCH_DELAY = 2.0
DEFAULT_BATCH_MAX_REQUESTS = 50_000  # OpenAI's limit per batch
DEFAULT_FILE_MAX_BYTES = 200 * 1024 * 1024  # OpenAI's limit per batch input file
DEFAULT_FILE_STORE_BYTES = 2 * 1024 * 1024 * 1024  # all uploads kept in memory, at most


def check_loopback(host: str) -> str:
    """Return ``host`` if it is a loopback address, else raise ``ValueError``."""
    if host.lower() == "localhost":
        return host
    try:
        loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(
            f"host {host!r} is not a loopback address; the simulator only binds to "
            "127.0.0.0/8, ::1 or localhost"
        )
    return host


_RATE = {"ge": 0.0, "le": 1.0}


@dataclass(frozen=True, slots=True, kw_only=True)
class SimConfig:
    """Every option of ``fastcrew sim``, declared once (the command's flags are these fields);
    docs/simulator.md tells the full story of each."""

    host: str = option(DEFAULT_HOST, help="Loopback address only.")
    port: int = option(DEFAULT_PORT, ge=0, le=65535, help="0 = any free port.")
    seed: int = option(0, help="Seeds answers, jitter and faults.")
    latency_ms: float = option(0.0, ge=0, help="Fixed latency per request.")
    jitter_ms: float = option(0.0, ge=0, help="Median of lognormal jitter (0 = none).")
    jitter_sigma: float = option(DEFAULT_JITTER_SIGMA, gt=0, help="Shape of the jitter.")
    tokens_per_s: float = option(0.0, ge=0, help="Answer speed; 0 = instant.")
    completion_tokens: int = option(
        DEFAULT_COMPLETION_TOKENS, ge=1, help="Length of a plain answer, in tokens."
    )
    echo_chars: int = option(
        DEFAULT_ECHO_CHARS, ge=0, help="How much of the last user message an answer echoes."
    )
    rpm: int | None = option(None, ge=1, help="Requests per minute (unset = unlimited).")
    tpm: int | None = option(None, ge=1, help="Tokens per minute (unset = unlimited).")
    limit_window_s: float = option(
        DEFAULT_LIMIT_WINDOW_S, gt=0, help="Bucket capacity = rate * window / 60 s."
    )
    quota_after: int | None = option(
        None, ge=0, help="After this many admitted requests, every call is a 429 quota error."
    )
    fail_rate: float = option(0.0, **_RATE, help="Share of 500 answers.")
    reset_rate: float = option(0.0, **_RATE, help="Share of dropped connections.")
    stall_rate: float = option(0.0, **_RATE, help="Share of requests never answered.")
    malformed_rate: float = option(0.0, **_RATE, help="Share of invalid JSON bodies.")
    overloaded_rate: float = option(
        0.0, **_RATE, help="Share of overloaded answers (Anthropic 529, OpenAI/Azure 503)."
    )
    itpm: int | None = option(
        None, ge=1, help="Anthropic input tokens per minute (unset = unlimited)."
    )
    otpm: int | None = option(
        None, ge=1, help="Anthropic output tokens per minute (unset = unlimited)."
    )
    cache_min_tokens: int = option(
        DEFAULT_CACHE_MIN_TOKENS, ge=0, help="Shortest prefix Anthropic prompt caching stores."
    )
    azure_deployments: str = option(
        "", help="Azure deployment=model pairs, comma-separated (empty = any deployment)."
    )
    content_filter_rate: float = option(
        0.0, **_RATE, help="Share of Azure requests refused by the content filter (400)."
    )
    content_filter_output_rate: float = option(
        0.0, **_RATE, help="Share of Azure answers cut by the content filter (200)."
    )
    api_key: str | None = option(
        None, help=f"Require 'Authorization: Bearer KEY' (${API_KEY_ENV})."
    )
    model_name: str = option(DEFAULT_MODEL_NAME, help="The model GET /v1/models lists.")
    tool_rounds: int = option(
        DEFAULT_TOOL_ROUNDS, ge=0, help="Rounds of tool calls before the final answer."
    )
    parallel_calls: int = option(
        DEFAULT_PARALLEL_CALLS, ge=1, help="Tool calls a round (at most one per tool)."
    )
    malformed_args_rate: float = option(
        0.0, **_RATE, help="Share of tool calls with broken arguments (native and ReAct)."
    )
    tool_support: ToolSupport = option(
        "native", help="native answers tools; reject = 400 for requests with tools (ReAct works)."
    )
    batch_delay: float = option(
        DEFAULT_BATCH_DELAY, ge=0, help="Seconds from a batch's creation to its end (0 = at once)."
    )
    batch_fail_rate: float = option(
        0.0, **_RATE, help="Share of batch requests answered 500 (into the error file)."
    )
    batch_expire_rate: float = option(0.0, **_RATE, help="Share of batches that expire.")
    batch_reject_rate: float = option(
        0.0, **_RATE, help="Share of batches failed at validation (token_limit_exceeded)."
    )
    batch_max_requests: int = option(
        DEFAULT_BATCH_MAX_REQUESTS, ge=1, help="Requests a batch input file may hold."
    )
    file_max_bytes: int = option(DEFAULT_FILE_MAX_BYTES, ge=1, help="Size limit of an upload.")
    file_store_bytes: int = option(
        DEFAULT_FILE_STORE_BYTES, ge=1, help="Memory all uploaded files may take together."
    )
    embedding_dimensions: int = option(
        DEFAULT_EMBEDDING_DIMENSIONS,
        ge=1,
        le=65536,
        help="Vector size of embedding models other than OpenAI's three.",
    )

    def __post_init__(self) -> None:
        check_loopback(self.host)
        check_options(self)
        if sum(getattr(self, name) for name in _RATES) > 1.0 + 1e-9:
            raise ValueError(
                "fail_rate + reset_rate + stall_rate + malformed_rate + overloaded_rate "
                "must be <= 1"
            )
        if self.content_filter_rate + self.content_filter_output_rate > 1.0 + 1e-9:
            raise ValueError("content_filter_rate + content_filter_output_rate must be <= 1")
        self.deployments()  # validates azure_deployments
        if not self.model_name:
            raise ValueError("model_name must not be empty")

    def deployments(self) -> dict[str, str]:
        """``azure_deployments`` as ``{deployment: model}`` (empty: any deployment is served)."""
        out: dict[str, str] = {}
        for pair in filter(None, (p.strip() for p in self.azure_deployments.split(","))):
            name, sep, model = pair.partition("=")
            if not sep or not name.strip() or not model.strip():
                raise ValueError(f"azure_deployments: {pair!r} is not DEPLOYMENT=MODEL")
            out[name.strip()] = model.strip()
        return out

    def __repr__(self) -> str:
        return masked_repr(self)

    def replace(self, **changes: Any) -> SimConfig:
        """A copy with some options changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_cli_args(self) -> list[str]:
        """The ``fastcrew sim`` options that reproduce this config (without the API key)."""
        args: list[str] = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "api_key" or value is None or value == f.default:
                continue
            args += [f"--{f.name.replace('_', '-')}", str(value)]
        return args

    @classmethod
    def from_options(cls, config: SimConfig | None = None, **options: Any) -> SimConfig:
        """``config`` (or the defaults) with ``options`` applied on top."""
        if config is None:
            return cls(**options)
        return config.replace(**options) if options else config
