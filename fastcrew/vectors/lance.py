"""Everything that touches LanceDB, pyarrow and numpy (imported on first use, so that
``import fastcrew`` stays fast: ``import lancedb`` takes ~1 s): the table schema, records to
Arrow batches and back, connections and the ANN index.

Vectors are compared by cosine (LanceDB's ``cosine`` distance is ``1 - cos``). Past
``index_threshold`` rows a table gets an ``IVF_HNSW_SQ`` index (an HNSW graph over 8-bit
scalar-quantised vectors); BTREE indexes on ``scope`` and ``id`` come earlier, at
:data:`SCALAR_INDEX_ROWS`. Later
adds are folded into them by ``optimize()`` once enough rows are unindexed (LanceDB
searches those exactly meanwhile), which also compacts the small files adds leave (see
:func:`maintain`).
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from .errors import VectorsNotInstalledError
from .records import VectorRecord

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from lancedb.db import AsyncConnection
    from lancedb.table import AsyncTable

__all__ = [
    "COLUMNS",
    "VECTOR_INDEX",
    "connect",
    "dimension",
    "ensure_indexes",
    "maintain",
    "near_duplicates",
    "optimize",
    "present_ids",
    "query_vector",
    "records_from",
    "scan",
    "schema",
    "search",
    "to_batch",
    "upsert",
]

COLUMNS = ["id", "text", "metadata", "scope", "created_at", "importance"]
VECTOR_INDEX = "vector_idx"
ROWS_PER_PARTITION = 200_000
"""HNSW partitions: one graph per this many rows (a query probes LanceDB's default count)."""
REINDEX_SHARE = 0.1
"""``optimize()`` once unindexed rows exceed this share of the indexed ones (min 1000)."""
SCALAR_INDEX_ROWS = 2_000
"""A table gets its BTREE indexes on ``scope`` and ``id`` at this many rows (or at the ANN
threshold if lower)."""
IDS_PER_QUERY = 500
FRAGMENT_ROWS = 65_536
"""Compaction merges fragments (files) up to this many rows; larger ones are left alone, so
a row is rewritten about once however the table grows."""
COMPACT_FRAGMENTS = 32
"""``optimize()`` once a table has this many fragments beyond ``rows / FRAGMENT_ROWS``
(each add makes one; a search reads fewer, larger files faster: ~1 ms at 100,000 rows)."""
NEW_TABLE_OPTIONS = {"new_table_data_storage_version": "2.0"}
"""Tables are made in Lance's 2.0 file format: adding 10,000 rows of 256 dimensions takes
~20 ms of CPU where 2.1 (LanceDB's default), which compresses strings, takes ~55 ms, for
~25% more bytes on disk; searches take the same time. Tables already made keep theirs."""


def _modules() -> tuple[Any, Any, Any]:
    try:
        import numpy
        import pyarrow
    except ImportError as exc:  # pragma: no cover - numpy and pyarrow come with lancedb
        raise VectorsNotInstalledError(exc.name or "pyarrow") from exc
    try:
        import lancedb
    except ImportError as exc:
        raise VectorsNotInstalledError("lancedb") from exc
    return lancedb, pyarrow, numpy


async def connect(path: str, consistency_s: float | None) -> AsyncConnection:
    """An async connection to the database folder ``path``; another process's writes are
    seen after at most ``consistency_s`` seconds (None: only after this one writes)."""
    lancedb, _, _ = _modules()
    interval = None if consistency_s is None else timedelta(seconds=consistency_s)
    return await lancedb.connect_async(path, read_consistency_interval=interval)


def schema(dim: int) -> pa.Schema:
    _, pa, _ = _modules()
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("text", pa.string()),
            pa.field("vector", pa.list_(pa.float32(), dim)),
            pa.field("metadata", pa.string()),
            pa.field("scope", pa.string()),
            pa.field("created_at", pa.float64()),
            pa.field("importance", pa.float32()),
        ]
    )


def dimension(table_schema: pa.Schema) -> int:
    """The vector length of a table made by :func:`schema`."""
    return int(table_schema.field("vector").type.list_size)


def _matrix(vectors: Sequence[Sequence[float]], dim: int) -> np.ndarray:
    _, _, np = _modules()
    out = np.empty((len(vectors), dim), dtype=np.float32)
    for row, vector in enumerate(vectors):
        if isinstance(vector, array) and vector.typecode == "f":
            values = np.frombuffer(vector, dtype=np.float32)
        else:
            values = np.asarray(vector, dtype=np.float32)
        if values.shape != (dim,):
            raise ValueError(f"vector {row} has shape {values.shape}, not ({dim},)")
        out[row] = values
    return out


def query_vector(vector: Sequence[float], dim: int) -> np.ndarray:
    return _matrix([vector], dim)[0]


def to_batch(records: Sequence[VectorRecord], dim: int) -> pa.RecordBatch:
    """``records`` as one Arrow batch of :func:`schema`. Float32 ``array('f')`` vectors (the
    embedder's) are joined into the column's buffer at once; a metadata object shared by
    records (a collection's) is serialised once."""
    _, pa, np = _modules()
    vectors = [r.vector for r in records]
    if all(type(v) is array and v.typecode == "f" and len(v) == dim for v in vectors):
        flat = np.frombuffer(b"".join(cast("list[array[float]]", vectors)), dtype=np.float32)
    else:
        flat = _matrix(vectors, dim).reshape(-1)
    metadata: dict[int, str] = {}  # by object: the records hold them alive meanwhile
    for r in records:
        if id(r.metadata) not in metadata:
            metadata[id(r.metadata)] = json.dumps(dict(r.metadata), ensure_ascii=False)
    columns = [
        pa.array([r.id for r in records], pa.string()),
        pa.array([r.text for r in records], pa.string()),
        pa.FixedSizeListArray.from_arrays(pa.array(flat, pa.float32()), dim),
        pa.array([metadata[id(r.metadata)] for r in records], pa.string()),
        pa.array([r.scope for r in records], pa.string()),
        pa.array([float(r.created_at) for r in records], pa.float64()),
        pa.array([float(r.importance) for r in records], pa.float32()),
    ]
    return pa.record_batch(columns, schema=schema(dim))


def records_from(rows: pa.Table, *, with_vectors: bool) -> list[VectorRecord]:
    """The rows of a query's result as records."""
    vectors: list[Any] = (
        [array("f", v) for v in rows.column("vector").to_pylist()]
        if with_vectors
        else [()] * rows.num_rows
    )
    out: list[VectorRecord] = []
    for row, vector in zip(rows.select(COLUMNS).to_pylist(), vectors, strict=True):
        out.append(
            VectorRecord(
                id=row["id"],
                text=row["text"] or "",
                vector=vector,
                metadata=json.loads(row["metadata"]) if row["metadata"] else {},
                scope=row["scope"] or "",
                created_at=row["created_at"] or 0.0,
                importance=row["importance"] if row["importance"] is not None else 0.5,
            )
        )
    return out


async def present_ids(table: AsyncTable, ids: Sequence[str], where: str | None) -> set[str]:
    """Which of ``ids`` the table holds (a query per :data:`IDS_PER_QUERY`)."""
    from .filters import all_of, ids_in

    found: set[str] = set()
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = ids[start : start + IDS_PER_QUERY]
        rows = await (
            table.query().where(all_of([ids_in(chunk), where]) or "").select(["id"]).to_arrow()
        )
        found.update(rows.column("id").to_pylist())
    return found


async def search(
    table: AsyncTable,
    vector: np.ndarray | list[np.ndarray],
    k: int,
    where: str | None,
    *,
    ef: int,
    refine_factor: int | None,
    with_vectors: bool,
) -> list[list[tuple[VectorRecord, float]]]:
    """The ``k`` nearest rows by cosine to each query vector (one, or a list searched in
    one pass: ~3x cheaper than three searches), with their similarity, best first."""
    many = isinstance(vector, list)
    columns = [*COLUMNS, "_distance"] + (["vector"] if with_vectors else [])
    query = table.vector_search(vector).distance_type("cosine").limit(k).ef(max(ef, k))
    if refine_factor:
        query = query.refine_factor(refine_factor)
    if where:
        query = query.where(where)
    rows = await query.select(columns + (["query_index"] if many else [])).to_arrow()
    records = records_from(rows, with_vectors=with_vectors)
    distances = rows.column("_distance").to_pylist()
    if not many:
        return [[(r, 1.0 - float(d)) for r, d in zip(records, distances, strict=True)]]
    out: list[list[tuple[VectorRecord, float]]] = [[] for _ in vector]
    for r, d, i in zip(records, distances, rows.column("query_index").to_pylist(), strict=True):
        out[i].append((r, 1.0 - float(d)))
    for hits in out:
        hits.sort(key=lambda hit: -hit[1])
    return out


async def ensure_indexes(
    table: AsyncTable, threshold: int | None, rows: int | None = None
) -> str | None:
    """Past ``threshold`` rows: build the ANN and scalar indexes, or fold unindexed rows in.
    ``rows``: the table's row count, if the caller has it. Returns what it did ("created",
    "optimized") or None. Call it holding the write lock."""
    if threshold is None:
        return None
    _, _, _ = _modules()
    from lancedb.index import BTree, HnswSq

    names = {index.name for index in await table.list_indices()}
    if VECTOR_INDEX not in names:
        if rows is None:
            rows = await table.count_rows()
        if "scope_idx" not in names and rows >= min(SCALAR_INDEX_ROWS, threshold):
            # BTREEs (a scope and everything under it is a range; ids are unique): a memory
            # table's searches and listings filter by scope, and its adds look ids up, long
            # before it needs an ANN index (at 10,000 rows over 5,000 scopes, a filtered
            # search 8 → 3 ms, a listing 3.4 → 1.8 ms)
            await table.create_index("scope", config=BTree(), name="scope_idx")
            if "id_idx" not in names:
                await table.create_index("id", config=BTree(), name="id_idx")
            if rows < threshold:
                return "created"
        if rows < threshold:
            return None
        partitions = max(1, round(rows / ROWS_PER_PARTITION))
        config = HnswSq(
            distance_type="cosine", num_partitions=partitions, m=16, ef_construction=150
        )
        await table.create_index("vector", config=config, name=VECTOR_INDEX)
        return "created"
    stats = await table.index_stats(VECTOR_INDEX)
    if stats is None:
        return None
    if stats.num_unindexed_rows >= max(1000, REINDEX_SHARE * stats.num_indexed_rows):
        await optimize(table)
        return "optimized"
    return None


async def maintain(table: AsyncTable, threshold: int | None) -> str | None:
    """After a write: :func:`ensure_indexes`, else compact once small fragments pile up.
    Returns what it did or None. Call it holding the write lock."""
    rows, fragments = await _size(table)
    done = await ensure_indexes(table, threshold, rows)
    if done is not None:
        return done
    if fragments >= COMPACT_FRAGMENTS + rows // FRAGMENT_ROWS:
        await optimize(table)
        return "compacted"
    return None


async def optimize(table: AsyncTable) -> None:
    """Compact small fragments, fold unindexed rows into the indexes, drop old versions."""
    await table.optimize(compaction_options={"target_rows_per_fragment": FRAGMENT_ROWS})


async def _size(table: AsyncTable) -> tuple[int, int]:
    """Rows and fragments. (Typed as a dataclass, a dict at run time in lancedb 0.41.)"""
    stats: Any = await table.stats()
    if isinstance(stats, dict):
        return int(stats["num_rows"]), int(stats["fragment_stats"]["num_fragments"])
    return int(stats.num_rows), int(stats.fragment_stats.num_fragments)


async def scan(
    table: AsyncTable, where: str | None, *, limit: int | None, offset: int, with_vectors: bool
) -> list[VectorRecord]:
    """The rows matching ``where`` (all without it) in storage order, ``offset`` skipped."""
    query = table.query().select([*COLUMNS, "vector"] if with_vectors else COLUMNS)
    if where:
        query = query.where(where)
    if limit is not None:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    return records_from(await query.to_arrow(), with_vectors=with_vectors)


async def upsert(table: AsyncTable, batch: pa.RecordBatch) -> None:
    """Replace the rows whose id is in ``batch``, add the others (one merge)."""
    builder = table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all()
    await builder.execute(batch)


def near_duplicates(vectors: Sequence[Sequence[float]], threshold: float) -> set[int]:
    """The positions of vectors whose cosine to an earlier one (not itself dropped) is at
    least ``threshold``."""
    _, _, np = _modules()
    if len(vectors) < 2:
        return set()
    matrix = _matrix(vectors, len(vectors[0]))
    norms = np.linalg.norm(matrix, axis=1)
    matrix /= np.where(norms == 0, 1.0, norms)[:, None]
    close = (matrix @ matrix.T) >= threshold
    dropped: set[int] = set()
    for j in range(1, len(vectors)):
        if any(close[i, j] for i in range(j) if i not in dropped):
            dropped.add(j)
    return dropped
