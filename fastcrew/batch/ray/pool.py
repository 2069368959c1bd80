"""The Ray backend's worker pool: the local :class:`~fastcrew.batch.supervisor.pool.ProcessPool`
(slots, replacement of the dead up to ``max_restarts``, ping/pong liveness) over actors started by
an :class:`~fastcrew.batch.ray.launcher.ActorLauncher`, counting finished rows per node."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..config import WorkerConfig
from ..supervisor.events import RowsFinished, WorkerEvent
from ..supervisor.pool import ProcessPool, Sink
from .launcher import ActorLauncher

__all__ = ["RayPool"]

NodeKey = tuple[str, str]
"""(node id, node address)."""


class RayPool(ProcessPool):
    """Worker slots filled with Ray actors (see :mod:`fastcrew.batch.ray.launcher`)."""

    def __init__(
        self, size: int, config: WorkerConfig, *, launcher: ActorLauncher, **options: Any
    ) -> None:
        super().__init__(size, config, launcher=launcher.launch, **options)
        self.actors = launcher
        self.node_rows: Counter[NodeKey] = Counter()
        self.node_workers: Counter[NodeKey] = Counter()

    async def run(self, sink: Sink) -> None:
        await self.actors.start()
        rows = self.node_rows
        actors = self.actors.workers

        def counting(event: WorkerEvent) -> None:
            if type(event) is RowsFinished:
                actor = actors.get(event.slot)
                if actor is not None:
                    rows[(actor.node_id, actor.node_address)] += len(event.results)
            sink(event)

        try:
            await super().run(counting)
        finally:
            self.node_workers = Counter(
                (a.node_id, a.node_address) for a in self.actors.workers.values()
            )
            await self.actors.close()

    def nodes(self) -> list[dict[str, Any]]:
        """Per node: its id and address, the workers placed there at the end, the rows its
        workers finished."""
        keys = sorted(set(self.node_workers) | set(self.node_rows), key=lambda k: (k[1], k[0]))
        return [
            {
                "node_id": node_id,
                "address": address,
                "workers": self.node_workers.get((node_id, address), 0),
                "rows": self.node_rows.get((node_id, address), 0),
            }
            for node_id, address in keys
        ]
