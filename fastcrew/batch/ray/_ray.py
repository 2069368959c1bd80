"""The one module that imports Ray: connecting to a cluster, placing, locating and killing
worker actors. Imported only when a run asks for ``backend="ray"``
(:func:`fastcrew.batch.ray.load` turns a missing Ray into the install line)."""

from __future__ import annotations

import contextlib
import os
from typing import Any

import ray
from ray.exceptions import RayError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from .actor import WorkerActor

__all__ = ["ACTOR_GONE", "RaySession"]

ACTOR_GONE: tuple[type[BaseException], ...] = (RayError,)
"""What an actor call raises once the actor (or its node, or the connection) is gone."""


class FastcrewWorker(WorkerActor):
    """The worker actor as Ray runs it (``ray::FastcrewWorker`` in ``ps``)."""

    async def where(self) -> tuple[str, str, int]:
        """(node id, node address, pid) of this actor."""
        node_id = ray.get_runtime_context().get_node_id()
        return node_id, ray.util.get_node_ip_address(), os.getpid()


_RemoteWorker: Any = ray.remote(FastcrewWorker)


class RaySession:
    """Ray for one run: connects at ``address`` (``None``: Ray's own rule — ``$RAY_ADDRESS``,
    else the cluster last started on this machine, else a new local one), and disconnects
    (stopping a Ray it started) at :meth:`close`. A process already connected is reused
    and left connected."""

    def __init__(self, address: str | None, *, runtime_env: dict[str, Any] | None = None) -> None:
        self.owned = not ray.is_initialized()
        if self.owned:
            # A Ray started for the run reports nothing to anyone (the user can opt in).
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            ray.init(
                address=address,
                runtime_env=runtime_env,
                configure_logging=False,
                log_to_driver=True,
            )
        self.address = ray.get_runtime_context().gcs_address

    def cpus(self) -> int:
        """CPUs of the cluster (the default worker count)."""
        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def nodes(self) -> list[tuple[str, str]]:
        """(node id, address) of every live node with CPUs, in a stable order."""
        found = [
            (n["NodeID"], n["NodeManagerAddress"])
            for n in ray.nodes()
            if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) >= 1
        ]
        return sorted(found, key=lambda n: (n[1], n[0]))

    gone = ACTOR_GONE

    def driver_address(self) -> str:
        """The address this driver has in the cluster (where actors can reach it)."""
        return str(ray.util.get_node_ip_address())

    def start(
        self,
        node_id: str | None,
        *,
        num_cpus: float,
        connect: tuple[str, int] | None = None,
        ticket: bytes = b"",
    ) -> Any:
        """A new worker actor, on ``node_id`` when that node can take it; with ``connect``
        it connects to the driver there (presenting ``ticket``), else it relays."""
        options: dict[str, Any] = {"num_cpus": num_cpus, "max_restarts": 0}
        if node_id is not None:
            options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node_id, soft=True)
        return _RemoteWorker.options(**options).remote(connect, ticket)

    def kill(self, actor: Any) -> None:
        """Kill an actor now (no restart); a dead one is ignored."""
        with contextlib.suppress(RayError, ValueError):
            ray.kill(actor, no_restart=True)

    def close(self) -> None:
        """Disconnect (and stop a Ray this session started)."""
        if self.owned and ray.is_initialized():
            ray.shutdown()
