"""``SimConfig``: every option of the simulator, with its documented default.

The config is frozen and picklable (it crosses process boundaries in ``spawn``) and its repr
masks the API key. ``to_cli_args`` turns it back into ``fastcrew sim`` options; the key is
never put on a command line (``spawn`` passes it in ``FASTCREW_SIM_API_KEY``).
"""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass
from typing import Any

__all__ = [
    "API_KEY_ENV",
    "DEFAULT_COMPLETION_TOKENS",
    "DEFAULT_ECHO_CHARS",
    "DEFAULT_HOST",
    "DEFAULT_JITTER_SIGMA",
    "DEFAULT_LIMIT_WINDOW_S",
    "DEFAULT_MODEL_NAME",
    "DEFAULT_PARALLEL_CALLS",
    "DEFAULT_PORT",
    "DEFAULT_TOOL_ROUNDS",
    "TOOL_SUPPORT",
    "SimConfig",
    "check_loopback",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 0  # 0 = a free port chosen by the OS
DEFAULT_COMPLETION_TOKENS = 32
DEFAULT_ECHO_CHARS = 200
DEFAULT_JITTER_SIGMA = 0.5
DEFAULT_LIMIT_WINDOW_S = 60.0
DEFAULT_MODEL_NAME = "fastcrew-sim"
DEFAULT_TOOL_ROUNDS = 1
DEFAULT_PARALLEL_CALLS = 2
TOOL_SUPPORT = ("native", "reject")
API_KEY_ENV = "FASTCREW_SIM_API_KEY"

_RATES = ("fail_rate", "reset_rate", "stall_rate", "malformed_rate")


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


@dataclass(frozen=True, slots=True, kw_only=True)
class SimConfig:
    """Options of ``fastcrew sim``; see docs/simulator.md for the full story.

    host, port: where to listen (loopback only; port 0 = any free port).
    seed: seeds answers, latency jitter and fault draws.
    latency_ms, jitter_ms, jitter_sigma: fixed latency plus lognormal jitter with median
        ``jitter_ms`` and shape ``jitter_sigma`` (``jitter_ms=0`` = no jitter).
    tokens_per_s: generation speed of the answer (0 = instant).
    completion_tokens: length of a plain-text answer in estimated tokens.
    echo_chars: how much of the last user message a plain answer echoes.
    rpm, tpm: requests / tokens per minute (None = unlimited).
    limit_window_s: bucket capacity is ``rate * limit_window_s / 60`` (60 = a minute's worth).
    quota_after: after this many admitted requests every call is ``insufficient_quota``.
    fail_rate, reset_rate, stall_rate, malformed_rate: fault probabilities (sum ≤ 1).
    api_key: when set, requests need ``Authorization: Bearer <api_key>``.
    model_name: the model listed by ``GET /v1/models`` and answered when a request names none.
    tool_rounds: rounds of tool calls (``tool_choice`` auto) before the final text answer.
    parallel_calls: tool calls per round when ``parallel_tool_calls`` is not false (at most
        one per offered tool).
    malformed_args_rate: share of tool calls (native and ReAct) whose arguments are broken:
        invalid JSON or valid JSON that violates the tool's schema (seeded per call).
    tool_support: ``"native"`` answers ``tools``; ``"reject"`` refuses any request carrying
        ``tools`` with 400 (a provider without function calling; ReAct prompts still work).
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    seed: int = 0
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    jitter_sigma: float = DEFAULT_JITTER_SIGMA
    tokens_per_s: float = 0.0
    completion_tokens: int = DEFAULT_COMPLETION_TOKENS
    echo_chars: int = DEFAULT_ECHO_CHARS
    rpm: int | None = None
    tpm: int | None = None
    limit_window_s: float = DEFAULT_LIMIT_WINDOW_S
    quota_after: int | None = None
    fail_rate: float = 0.0
    reset_rate: float = 0.0
    stall_rate: float = 0.0
    malformed_rate: float = 0.0
    api_key: str | None = None
    model_name: str = DEFAULT_MODEL_NAME
    tool_rounds: int = DEFAULT_TOOL_ROUNDS
    parallel_calls: int = DEFAULT_PARALLEL_CALLS
    malformed_args_rate: float = 0.0
    tool_support: str = "native"

    def __post_init__(self) -> None:
        check_loopback(self.host)
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be in 0..65535, got {self.port}")
        for name in ("latency_ms", "jitter_ms", "tokens_per_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.jitter_sigma <= 0:
            raise ValueError(f"jitter_sigma must be > 0, got {self.jitter_sigma}")
        if self.completion_tokens < 1:
            raise ValueError(f"completion_tokens must be >= 1, got {self.completion_tokens}")
        if self.echo_chars < 0:
            raise ValueError(f"echo_chars must be >= 0, got {self.echo_chars}")
        for name in ("rpm", "tpm"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 (or None for unlimited), got {value}")
        if self.limit_window_s <= 0:
            raise ValueError(f"limit_window_s must be > 0, got {self.limit_window_s}")
        if self.quota_after is not None and self.quota_after < 0:
            raise ValueError(f"quota_after must be >= 0, got {self.quota_after}")
        for name in _RATES:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if sum(getattr(self, name) for name in _RATES) > 1.0 + 1e-9:
            raise ValueError("fail_rate + reset_rate + stall_rate + malformed_rate must be <= 1")
        if not self.model_name:
            raise ValueError("model_name must not be empty")
        if self.tool_rounds < 0:
            raise ValueError(f"tool_rounds must be >= 0, got {self.tool_rounds}")
        if self.parallel_calls < 1:
            raise ValueError(f"parallel_calls must be >= 1, got {self.parallel_calls}")
        if not 0.0 <= self.malformed_args_rate <= 1.0:
            raise ValueError(
                f"malformed_args_rate must be in [0, 1], got {self.malformed_args_rate}"
            )
        if self.tool_support not in TOOL_SUPPORT:
            raise ValueError(
                f"tool_support must be one of {', '.join(TOOL_SUPPORT)}, got {self.tool_support!r}"
            )

    def __repr__(self) -> str:
        parts = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "api_key" and value is not None:
                parts.append("api_key='***'")
            else:
                parts.append(f"{f.name}={value!r}")
        return f"SimConfig({', '.join(parts)})"

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
