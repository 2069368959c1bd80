"""``VectorTable``: one collection of records — add (skipping ids present), upsert, search
by cosine, scan, delete, count — async, with a sync twin for each call."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from . import lance
from .errors import DimensionMismatchError
from .filters import all_of, ids_in, scope_filter
from .group_commit import Add, GroupCommit
from .records import Hit, VectorRecord
from .sync_bridge import run_sync
from .write_lock import WriteLock

if TYPE_CHECKING:
    from lancedb.table import AsyncTable

    from .store import VectorStore

__all__ = ["VectorTable"]

DELETE_IDS_PER_CALL = 500


class VectorTable:
    """The table ``name`` of ``store`` (made by its first add, with that vector length).

    Writes from any number of processes and threads are serialised by a file lock (see
    :mod:`~fastcrew.vectors.write_lock`), so :meth:`aadd` adds each id once however the
    writers interleave; reads take no lock and see other processes' writes after at most
    the store's ``consistency_s``."""

    def __init__(self, store: VectorStore, name: str) -> None:
        if not name or not name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"a table name is letters, digits, '_' and '-', not {name!r}")
        self.store = store
        self.name = name
        self.lock = WriteLock(store.path / f"{name}.lock", timeout=store.lock_timeout)
        self._table: AsyncTable | None = None
        self._dim: int | None = None
        self._groups: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupCommit] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"VectorTable({self.name!r}, store={self.store.path!s})"

    @property
    def dim(self) -> int | None:
        """The vector length, once the table is known to exist (None before)."""
        return self._dim

    # -- opening ----------------------------------------------------------------------------

    async def _open(self) -> AsyncTable | None:
        """The table, or None while it does not exist."""
        if self._table is None:
            db = await self.store._connection()
            try:
                table = await db.open_table(self.name)
            except ValueError as exc:  # LanceDB: "Table '…' was not found"
                if "not found" not in str(exc):
                    raise
                return None
            self._dim = lance.dimension(await table.schema())
            self._table = table
        return self._table

    async def _open_for_write(self, dim: int) -> AsyncTable:
        """The table, made with ``dim`` if missing. Call it holding the write lock."""
        table = await self._open()
        if table is None:
            db = await self.store._connection()
            table = await db.create_table(
                self.name,
                schema=lance.schema(dim),
                exist_ok=True,
                storage_options=lance.NEW_TABLE_OPTIONS,
            )
            self._dim = lance.dimension(await table.schema())
            self._table = table
        else:
            await table.checkout_latest()
        return table

    def _check_dim(self, dim: int) -> None:
        if self._dim is not None and dim != self._dim:
            raise DimensionMismatchError(self.name, self._dim, dim)

    @asynccontextmanager
    async def _writing(self, dim: int) -> AsyncIterator[AsyncTable]:
        """The table (made with ``dim`` if missing) under the write lock, its vectors
        checked to be ``dim`` long (before waiting for the lock, and again holding it)."""
        await self._open()
        self._check_dim(dim)
        async with self.lock.ahold():
            table = await self._open_for_write(dim)
            self._check_dim(dim)
            yield table

    # -- writes -----------------------------------------------------------------------------

    async def aadd(self, records: Iterable[VectorRecord], *, absent: bool = False) -> int:
        """Add the records whose id the table does not hold yet (the first of repeated ids
        in ``records``); returns how many were added. Idempotent: adding them again adds 0.
        ``absent``: the caller found none of the ids in the table while holding a lock that
        every writer of this table takes (a knowledge collection's), so the table's own
        check is skipped. Adds made together on one loop are one commit
        (:mod:`~fastcrew.vectors.group_commit`)."""
        unique: dict[str, VectorRecord] = {}
        for record in records:
            unique.setdefault(record.id, record)
        if not unique:
            return 0
        batch = list(unique.values())
        await self._open()
        self._check_dim(len(batch[0].vector))
        loop = asyncio.get_running_loop()
        group = self._groups.get(loop)
        if group is None:
            group = self._groups[loop] = GroupCommit(self._write_group)
        return await group.add(batch, absent)

    async def _write_group(self, adds: Sequence[Add], dim: int) -> list[int]:
        """One write of ``adds``: the ids not vouched absent checked in one query, each id
        added once (the first add naming it), one LanceDB add."""
        async with self._writing(dim) as table:
            check = [r.id for records, absent, _ in adds if not absent for r in records]
            present = await lance.present_ids(table, check, None) if check else set()
            fresh: list[VectorRecord] = []
            counts: list[int] = []
            for records, _, _ in adds:
                before = len(fresh)
                for record in records:
                    if record.id not in present:
                        present.add(record.id)
                        fresh.append(record)
                counts.append(len(fresh) - before)
            if fresh:
                await table.add(lance.to_batch(fresh, dim))
                await lance.maintain(table, self.store.index_threshold)
        return counts

    async def adelete(
        self,
        ids: Sequence[str] | None = None,
        *,
        scope: str | None = None,
        scope_prefix: str | None = None,
        where: str | None = None,
    ) -> int:
        """Delete the records matching every criterion given (at least one): ``ids``, a
        ``scope`` or ``scope_prefix``, an SQL ``where``. Returns how many were deleted."""
        base = all_of([scope_filter(scope, scope_prefix), where])
        if ids is None and base is None:
            raise ValueError("delete needs ids, a scope, a scope_prefix or a where filter")
        if ids is not None and not ids:
            return 0
        if await self._open() is None:
            return 0
        async with self.lock.ahold():
            table = await self._open_for_write(self._dim or 0)
            filters: list[str | None] = (
                [base]
                if ids is None
                else [
                    all_of([ids_in(ids[i : i + DELETE_IDS_PER_CALL]), base])
                    for i in range(0, len(ids), DELETE_IDS_PER_CALL)
                ]
            )
            deleted = 0
            for sql in filters:
                assert sql is not None
                count = await table.count_rows(sql)
                if count:
                    await table.delete(sql)
                    deleted += count
        return deleted

    async def aoptimize(self) -> None:
        """Build the indexes if the table is past the store's threshold, then compact its
        files and fold new rows into its indexes (LanceDB's ``optimize``). Adds do this by
        themselves now and then; call it after a bulk load, before latency matters."""
        if await self._open() is None:
            return
        async with self.lock.ahold():
            table = await self._open_for_write(self._dim or 0)
            await lance.ensure_indexes(table, self.store.index_threshold)
            await lance.optimize(table)

    # -- reads ------------------------------------------------------------------------------

    async def asearch(
        self,
        vector: Sequence[float],
        k: int = 10,
        *,
        scope: str | None = None,
        scope_prefix: str | None = None,
        where: str | None = None,
        min_score: float | None = None,
        with_vectors: bool = False,
    ) -> list[Hit]:
        """The ``k`` records most similar to ``vector`` (cosine similarity, best first), in
        ``scope`` (exactly) or under ``scope_prefix``, matching the SQL ``where``, scoring
        at least ``min_score``. ``with_vectors``: return the stored vectors too."""
        found = await self._search([vector], k, scope, scope_prefix, where, min_score, with_vectors)
        return found[0]

    async def asearch_many(
        self,
        vectors: Sequence[Sequence[float]],
        k: int = 10,
        *,
        scope: str | None = None,
        scope_prefix: str | None = None,
        where: str | None = None,
        min_score: float | None = None,
        with_vectors: bool = False,
    ) -> list[list[Hit]]:
        """:meth:`asearch` of each of ``vectors``, in one pass over the table."""
        return await self._search(vectors, k, scope, scope_prefix, where, min_score, with_vectors)

    async def _search(
        self,
        vectors: Sequence[Sequence[float]],
        k: int,
        scope: str | None,
        scope_prefix: str | None,
        where: str | None,
        min_score: float | None,
        with_vectors: bool,
    ) -> list[list[Hit]]:
        if k <= 0 or not vectors:
            return [[] for _ in vectors]
        table = await self._open()
        if table is None:
            return [[] for _ in vectors]
        assert self._dim is not None
        for vector in vectors:
            self._check_dim(len(vector))
        queries = [lance.query_vector(v, self._dim) for v in vectors]
        found = await lance.search(
            table,
            queries if len(queries) > 1 else queries[0],
            k,
            all_of([scope_filter(scope, scope_prefix), where]),
            ef=self.store.ef,
            refine_factor=self.store.refine_factor,
            with_vectors=with_vectors,
        )
        if min_score is not None:
            found = [[hit for hit in hits if hit[1] >= min_score] for hits in found]
        return found

    async def aids_present(self, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` the table holds."""
        wanted = list(dict.fromkeys(ids))
        table = await self._open()
        if table is None or not wanted:
            return set()
        return await lance.present_ids(table, wanted, None)

    async def acount(
        self, *, scope: str | None = None, scope_prefix: str | None = None, where: str | None = None
    ) -> int:
        """How many records (in ``scope``, under ``scope_prefix``, matching ``where``)."""
        table = await self._open()
        if table is None:
            return 0
        return await table.count_rows(all_of([scope_filter(scope, scope_prefix), where]))

    async def arefresh(self) -> None:
        """See every other process's writes now (not after ``consistency_s``)."""
        table = await self._open()
        if table is not None:
            await table.checkout_latest()

    async def ascan(
        self,
        *,
        scope: str | None = None,
        scope_prefix: str | None = None,
        where: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        with_vectors: bool = False,
    ) -> list[VectorRecord]:
        """The records (in ``scope``, under ``scope_prefix``, matching ``where``), in storage
        order: ``offset`` skipped, at most ``limit`` (all without one)."""
        table = await self._open()
        if table is None:
            return []
        sql = all_of([scope_filter(scope, scope_prefix), where])
        return await lance.scan(table, sql, limit=limit, offset=offset, with_vectors=with_vectors)

    async def aupsert(self, records: Iterable[VectorRecord]) -> int:
        """Write ``records``, replacing those whose id the table holds (the last of repeated
        ids wins); returns how many were written."""
        unique = {record.id: record for record in records}
        if not unique:
            return 0
        batch = list(unique.values())
        dim = len(batch[0].vector)
        async with self._writing(dim) as table:
            await lance.upsert(table, lance.to_batch(batch, dim))
            await lance.maintain(table, self.store.index_threshold)
        return len(batch)

    # -- the sync twins (they block; from async code, await the a-methods) -------------------

    def add(self, records: Iterable[VectorRecord]) -> int:
        """:meth:`aadd`, blocking."""
        return run_sync(self.aadd(list(records)))

    def delete(self, ids: Sequence[str] | None = None, **filters: Any) -> int:
        """:meth:`adelete`, blocking."""
        return run_sync(self.adelete(ids, **filters))

    def optimize(self) -> None:
        """:meth:`aoptimize`, blocking."""
        run_sync(self.aoptimize())

    def search(self, vector: Sequence[float], k: int = 10, **options: Any) -> list[Hit]:
        """:meth:`asearch`, blocking."""
        return run_sync(self.asearch(vector, k, **options))

    def ids_present(self, ids: Iterable[str]) -> set[str]:
        """:meth:`aids_present`, blocking."""
        return run_sync(self.aids_present(list(ids)))

    def count(self, **filters: Any) -> int:
        """:meth:`acount`, blocking."""
        return run_sync(self.acount(**filters))

    def refresh(self) -> None:
        """:meth:`arefresh`, blocking."""
        run_sync(self.arefresh())

    def scan(self, **options: Any) -> list[VectorRecord]:
        """:meth:`ascan`, blocking."""
        return run_sync(self.ascan(**options))

    def upsert(self, records: Iterable[VectorRecord]) -> int:
        """:meth:`aupsert`, blocking."""
        return run_sync(self.aupsert(list(records)))
