"""``backend="ray"``: the local supervisor with its workers placed as Ray actors.

:class:`RaySupervisor` is the local :class:`~fastcrew.batch.supervisor.Supervisor` — dispatch,
journal, ordered writer, reorder window, the global budget (``GlobalBudgets``, the same lease
state machine), liveness, restarts — whose worker *processes* come from a
:class:`~fastcrew.batch.ray.pool.RayPool` instead of ``subprocess``. The seam is
``Supervisor._spawn``: a slot's worker is an actor whose socket the supervisor serves exactly
as it serves a local worker's socketpair, so output, journal and summary are the same files,
and a run started on one backend resumes on the other.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from typing import Any

from ...errors import ConfigurationError
from ..config import BatchConfig
from ..supervisor import Supervisor, _Worker
from .pool import RayPool, RayWorker

__all__ = ["RayBackend", "RaySupervisor"]


class RaySupervisor(Supervisor):
    """A supervisor whose workers are Ray actors (see the module docstring)."""

    def __init__(self, *args: Any, pool: RayPool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool = pool
        self.node_rows: Counter[tuple[str, str]] = Counter()

    async def run(self) -> None:
        await self.pool.start()
        try:
            await super().run()
        finally:
            await self.pool.close()

    def _spawn(self, slot: int, restarts: int) -> None:
        worker = _Worker(slot, restarts)
        assert self._loop is not None
        worker.last_seen = self._loop.time()
        if slot < len(self.workers):
            self.workers[slot] = worker
        else:
            self.workers.append(worker)
        worker.task = self._loop.create_task(self._serve_actor(worker))

    async def _serve_actor(self, worker: _Worker) -> None:
        try:
            actor = await self.pool.spawn(worker.slot)
        except Exception as exc:
            text = f"worker actor {worker.slot} did not start: {type(exc).__name__}: {exc}"
            worker.process = _NotStarted()
            if self._first_hello is not None and not self._first_hello.done():
                self._fatal = text
            else:
                self.log(text)
            await self._on_exit(worker)
            return
        worker.process = actor
        if actor.where_task is not None:
            await asyncio.wait([actor.where_task], timeout=10.0)
        worker.pid = actor.pid
        if self._finished is None or self._finished.done():
            actor.kill()
            if actor.sock is not None:
                actor.sock.close()
            return
        assert actor.sock is not None
        await self._serve_worker(worker, actor.sock)

    def _on_done(
        self, worker: _Worker, results: list[tuple[int, int, bytes, tuple[int, int]]]
    ) -> None:
        actor = worker.process
        if isinstance(actor, RayWorker):
            taken = sum(1 for item in results if item[0] in worker.inflight)
            self.node_rows[(actor.node_id, actor.node_address)] += taken
        super()._on_done(worker, results)

    def nodes_summary(self) -> list[dict[str, Any]]:
        """Per node: its id and address, the workers placed there, the rows they finished."""
        placed: Counter[tuple[str, str]] = Counter(
            (w.node_id, w.node_address) for w in self.pool.workers.values()
        )
        keys = sorted(set(placed) | set(self.node_rows), key=lambda k: (k[1], k[0]))
        return [
            {
                "node_id": node_id,
                "address": address,
                "workers": placed.get((node_id, address), 0),
                "rows": self.node_rows.get((node_id, address), 0),
            }
            for node_id, address in keys
        ]


class _NotStarted:
    """The Popen subset for an actor that never started."""

    pid = None
    returncode = 1

    def poll(self) -> int:
        return 1

    def kill(self) -> None:
        pass

    def wait(self, timeout: float | None = None) -> int:
        return 1


class RayBackend:
    """Ray for one run: the session, the pool, the supervisor; :meth:`close` at the end."""

    def __init__(self, config: BatchConfig) -> None:
        from ._ray import RaySession

        address = config.ray_address
        try:
            self.session = RaySession(address)
        except ConfigurationError:
            raise
        except Exception as exc:
            where = address or "$RAY_ADDRESS / a local Ray"
            raise ConfigurationError(
                f"cannot connect to Ray at {where}: {type(exc).__name__}: {exc}"
            ) from None
        relay = bool(address and address.startswith("ray://"))
        self.pool = RayPool(self.session, relay=relay)
        if not config.workers:
            config = dataclasses.replace(config, workers=self.session.cpus())
        self.config = config

    def supervisor(self, *args: Any, **kwargs: Any) -> RaySupervisor:
        """A :class:`RaySupervisor` over this backend's pool (Supervisor's arguments)."""
        return RaySupervisor(self.config, *args, pool=self.pool, **kwargs)

    def summary(self, supervisor: Supervisor | None) -> dict[str, Any]:
        """The summary's ``ray`` section."""
        nodes = supervisor.nodes_summary() if isinstance(supervisor, RaySupervisor) else []
        return {
            "address": self.session.address,
            "transport": "relay" if self.pool.relay else "direct",
            "nodes": nodes,
        }

    def close(self) -> None:
        """Disconnect from Ray (stopping a Ray started for the run)."""
        self.session.close()
