"""How long the rows in flight may finish once a run stops (a signal, quota, a refused key).

The first SIGINT/SIGTERM (and every other stop) lets the rows running finish, then the
workers are stopped; this is the bound. SIGINT (Ctrl-C, someone watching) waits for
``--drain-timeout``, else ``--timeout``, else :data:`DEFAULT_DRAIN_S`. SIGTERM comes from a
service manager with its own grace period before SIGKILL (``docker stop``: 10 s, Kubernetes:
30 s), so it waits :data:`TERM_DRAIN_S` unless ``--drain-timeout`` is given. Rows cut off
run again on resume.
"""

from __future__ import annotations

import signal

from ..config import BatchConfig

__all__ = ["DEFAULT_DRAIN_S", "TERM_DRAIN_S", "drain_seconds"]

DEFAULT_DRAIN_S = 60.0
TERM_DRAIN_S = 5.0


def drain_seconds(config: BatchConfig, sig: int | None = None) -> float:
    """The drain bound of a stop caused by ``sig`` (None: not a signal)."""
    if config.drain_timeout is not None:
        return config.drain_timeout
    if sig == signal.SIGTERM:
        return min(TERM_DRAIN_S, config.timeout or TERM_DRAIN_S)
    return config.timeout if config.timeout is not None else DEFAULT_DRAIN_S
