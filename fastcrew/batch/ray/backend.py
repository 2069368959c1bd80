"""``backend="ray"``: the local supervisor with its workers placed as Ray actors.

The supervisor in the driver is the local one — dispatch, journal, ordered writer, reorder
window, the global budget (``GlobalBudgets``: the same lease state machine), signals — and so
is the pool's logic (:class:`~fastcrew.batch.ray.pool.RayPool` is a
:class:`~fastcrew.batch.supervisor.pool.ProcessPool`); only the launcher differs: a slot's
worker is a Ray actor running the same worker code, on a socket the pool serves as it serves a local
worker's socketpair. Output, journal and summary are therefore the same files, and a run
started on one backend resumes on the other.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from ...errors import ConfigurationError
from ..config import BatchConfig, WorkerConfig
from .launcher import ActorLauncher
from .pool import RayPool

__all__ = ["RELAY_ENV", "RayBackend"]

RELAY_ENV = "FASTCREW_RAY_RELAY"
"""``1``: carry the workers' bytes in Ray calls even when the driver is reachable (a driver
behind NAT); ``ray://`` addresses always relay."""


class RayBackend:
    """Ray for one run: the session and the pool; :meth:`close` at the end."""

    def __init__(self, config: BatchConfig) -> None:
        from ._ray import RaySession

        address, runtime_env = config.ray_address, config.ray_runtime_env
        try:
            self.session = RaySession(address, runtime_env=runtime_env)
        except Exception as exc:
            where = address or "$RAY_ADDRESS / a local Ray"
            raise ConfigurationError(
                f"cannot connect to Ray at {where}: {type(exc).__name__}: {exc}"
            ) from None
        relay = bool(address and address.startswith("ray://")) or os.environ.get(RELAY_ENV) == "1"
        self.launcher = ActorLauncher(self.session, relay=relay)
        if not config.workers:
            config = dataclasses.replace(config, workers=self.session.cpus())
        self.config = config
        self.ray_pool: RayPool | None = None

    def pool(self, worker_config: WorkerConfig) -> RayPool:
        """The run's worker pool (the supervisor's ``pool``)."""
        self.ray_pool = RayPool.for_run(self.config, worker_config, launcher=self.launcher)
        return self.ray_pool

    def summary(self) -> dict[str, Any]:
        """The summary's ``ray`` section."""
        return {
            "address": self.session.address,
            "transport": "relay" if self.launcher.relay else "direct",
            "nodes": self.ray_pool.nodes() if self.ray_pool is not None else [],
        }

    def close(self) -> None:
        """Disconnect from Ray (stopping a Ray started for the run)."""
        self.session.close()
