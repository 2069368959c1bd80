"""``VectorStore``: one LanceDB database folder, a table per collection."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import lance
from .paths import default_store_dir
from .sync_bridge import run_sync
from .table import VectorTable

if TYPE_CHECKING:
    from lancedb.db import AsyncConnection

__all__ = ["DEFAULT_INDEX_THRESHOLD", "VectorStore"]

DEFAULT_INDEX_THRESHOLD = 20_000
"""Rows past which a table gets its ANN index (below it an exact scan is quick enough)."""


class VectorStore:
    """The folder ``path`` (default :func:`~fastcrew.vectors.paths.default_store_dir` of
    ``name``: ``$FASTCREW_STORAGE_DIR/<name>``) holding a LanceDB table per collection.

    ``consistency_s``: reads see other processes' writes after at most this many seconds
    (0: at once, ~1 ms a query; None: only at :meth:`VectorTable.arefresh` or after this
    process writes). ``index_threshold``: rows past which a table is given its ANN index
    (None: never, every search exact). ``ef``: HNSW candidates per query (recall against
    time). ``refine_factor``: re-rank ``k * refine_factor`` candidates on the full vectors
    (better recall, ~1 ms more). ``lock_timeout``: seconds a write waits for others'.

    Opening is cheap; LanceDB is imported (and the folder made) at the first call."""

    def __init__(
        self,
        name: str = "vectors",
        *,
        path: str | os.PathLike[str] | None = None,
        consistency_s: float | None = 1.0,
        index_threshold: int | None = DEFAULT_INDEX_THRESHOLD,
        ef: int = 64,
        refine_factor: int | None = None,
        lock_timeout: float = 120.0,
    ) -> None:
        self.name = name
        self.path = Path(path) if path is not None else default_store_dir(name)
        self.consistency_s = consistency_s
        self.index_threshold = index_threshold
        self.ef = ef
        self.refine_factor = refine_factor
        self.lock_timeout = lock_timeout
        self._db: AsyncConnection | None = None
        self._tables: dict[str, VectorTable] = {}
        self._tables_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"VectorStore({self.name!r}, path={str(self.path)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its settings (a worker process opens its own connection)."""
        options = {
            "path": str(self.path),
            "consistency_s": self.consistency_s,
            "index_threshold": self.index_threshold,
            "ef": self.ef,
            "refine_factor": self.refine_factor,
            "lock_timeout": self.lock_timeout,
        }
        return (_reopen, (self.name, options))

    async def _connection(self) -> AsyncConnection:
        if self._db is None:
            await asyncio.to_thread(self.path.mkdir, parents=True, exist_ok=True)
            db = await lance.connect(str(self.path), self.consistency_s)
            if self._db is None:  # another task may have connected meanwhile: keep one
                self._db = db
        return self._db

    def table(self, name: str) -> VectorTable:
        """The table ``name`` (one object per name; made on disk by its first add)."""
        with self._tables_lock:
            table = self._tables.get(name)
            if table is None:
                table = self._tables[name] = VectorTable(self, name)
            return table

    async def atable_names(self) -> list[str]:
        """The tables on disk."""
        if not self.path.exists():
            return []
        db = await self._connection()
        return sorted([name async for name in db.list_tables()])

    async def adrop(self, name: str) -> None:
        """Delete the table ``name`` and its files (nothing if it does not exist)."""
        table = self.table(name)
        async with table.lock.ahold():
            db = await self._connection()
            await db.drop_table(name, ignore_missing=True)
            table._table, table._dim = None, None

    def table_names(self) -> list[str]:
        """:meth:`atable_names`, blocking."""
        return run_sync(self.atable_names())

    def drop(self, name: str) -> None:
        """:meth:`adrop`, blocking."""
        run_sync(self.adrop(name))


def _reopen(name: str, options: dict[str, Any]) -> VectorStore:
    return VectorStore(name, **options)
