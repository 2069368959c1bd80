"""``EmbeddingStore``: vectors by content key, in one SQLite file shared by processes.

The key is a digest of (endpoint, model, dimensions, text) — :func:`content_key` — so a
text is embedded once per model, whichever row, worker process or run asks for it. The file
is in WAL mode (readers never wait for a writer; several processes write in turn, busy
answers retried). Reads are one ``SELECT … WHERE id IN (…)`` per 500 keys (the rowid is a
key's first 8 bytes; the whole key is then compared) on the calling thread's own
connection (:class:`~fastcrew.cache.connections.ThreadConnections`, as the response cache's);
writes go through the response cache's write-behind thread
(:class:`~fastcrew.cache.writer.WriteBehind`: one transaction for everything queued, written
at exit too). A queued vector is served before it reaches the file.

Default file: ``$FASTCREW_STORAGE_DIR/embeddings.sqlite``, else
``$XDG_CACHE_HOME/fastcrew/embeddings.sqlite`` (``~/.cache/…``). One per user, not per
project as CrewAI's storage (``CREWAI_STORAGE_DIR``, else its per-project app-data folder):
a vector depends on nothing but its key, so every project gains from every other's, and it is
a cache (safe to delete), hence the cache folder rather than the data one.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from .._storage import STORAGE_ENV, storage_dir
from ..cache import CacheFileError, db
from ..cache.connections import ThreadConnections
from ..cache.writer import WriteBehind
from .wire import Vector, from_blob, to_blob

__all__ = [
    "DB_NAME",
    "STORAGE_ENV",
    "EmbeddingStore",
    "content_key",
    "content_keys",
    "default_store_path",
]

DB_NAME = "embeddings.sqlite"
WHAT = "embedding store"
"""The file, as errors name it."""
SCHEMA_VERSION = 1
"""``PRAGMA user_version`` of the file; another version is refused."""
READ_CHUNK = 500
"""Keys per ``IN (…)`` read (below SQLite's oldest bound on parameters, 999)."""

_CREATE = """CREATE TABLE vectors (
    id INTEGER PRIMARY KEY,  -- the key's first 8 bytes: a rowid table keeps large rows cheap
    key BLOB NOT NULL,       -- the whole key: a read checks it
    vector BLOB NOT NULL
)"""
_PUT = "INSERT OR IGNORE INTO vectors (id, key, vector) VALUES (?, ?, ?)"


def default_store_path() -> str:
    """``$FASTCREW_STORAGE_DIR/embeddings.sqlite``, else the user's cache folder's."""
    folder = storage_dir()
    if folder is not None:
        return str(folder / DB_NAME)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(cache) / "fastcrew" / DB_NAME)


def content_key(endpoint: str, model: str, dimensions: int | None, text: str) -> bytes:
    """The 16-byte key of ``text``'s vector from ``model`` at ``endpoint`` (no credentials,
    no query) with ``dimensions`` (None: the model's own)."""
    return content_keys(endpoint, model, dimensions, [text])[0]


def content_keys(
    endpoint: str, model: str, dimensions: int | None, texts: Iterable[str]
) -> list[bytes]:
    """:func:`content_key` of each text (the common prefix hashed once)."""
    prefix = hashlib.blake2b(digest_size=16)
    prefix.update(f"{endpoint}\0{model}\0{dimensions or 0}\0".encode())
    keys = []
    for text in texts:
        digest = prefix.copy()
        digest.update(text.encode("utf-8", "surrogatepass"))
        keys.append(digest.digest())
    return keys


class EmbeddingStore:
    """Vectors by :func:`content_key` in the SQLite file ``path`` (default:
    :func:`default_store_path`; created with its folder). ``timeout``: how long a write waits
    for other processes' writes (seconds). Raises
    :class:`~fastcrew.cache.CacheFileError` for a file that is not such a store."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, timeout: float = 30.0):
        self.path = os.fspath(path) if path is not None else default_store_path()
        self.timeout = timeout
        self._reset()
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        try:
            work = partial(_ensure_schema, self._connection(), self.path)
            db.retrying(work, self.path, timeout, WHAT)
        except BaseException:
            self.close()
            raise
        os.register_at_fork(after_in_child=partial(_after_fork, weakref.ref(self)))

    def _reset(self) -> None:
        """Fresh per-process state (connections and the writer thread do not cross a fork)."""
        self._lock = threading.Lock()
        self._db = ThreadConnections(self.path, self.timeout, WHAT)
        self._pending: dict[bytes, bytes] = {}
        self._writer: WriteBehind[tuple[bytes, bytes]] = WriteBehind(self._write, "fastcrew-emb")
        self.hits = self.writes = 0

    def __repr__(self) -> str:
        return f"EmbeddingStore({self.path!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reopen, (self.path, self.timeout))

    def _connection(self) -> sqlite3.Connection:
        return self._db.get()

    def get_many(self, keys: Sequence[bytes]) -> dict[bytes, Vector]:
        """The stored vectors of those ``keys`` that have one."""
        found = {key: from_blob(blob) for key in keys if (blob := self._pending.get(key))}
        missing = [key for key in keys if key not in found]
        conn = self._connection()
        for start in range(0, len(missing), READ_CHUNK):
            chunk = missing[start : start + READ_CHUNK]
            rows = db.retrying(partial(_select, conn, chunk), self.path, self.timeout, WHAT)
            found.update((key, from_blob(blob)) for key, blob in rows)
        with self._lock:
            self.hits += len(found)
        return found

    def put_later(self, items: Iterable[tuple[bytes, Vector]]) -> None:
        """Queue vectors for the writer thread (served by :meth:`get_many` meanwhile)."""
        if self._db.closed:
            raise RuntimeError(f"embedding store {self.path!r} is closed")
        for key, vector in items:
            blob = self._pending[key] = to_blob(vector)
            self._writer.submit((key, blob))

    def flush(self) -> None:
        """Wait until every queued vector is in the file (raise a failed write's error)."""
        self._writer.flush().result()

    async def aflush(self) -> None:
        """:meth:`flush`, awaited."""
        await asyncio.wrap_future(self._writer.flush())

    def count(self) -> int:
        """Vectors in the file now (every process's)."""
        return int(self._connection().execute("SELECT count(*) FROM vectors").fetchone()[0])

    def close(self) -> None:
        """Write what is queued, then close the connections (a later use raises)."""
        self._writer.stop()
        self._db.close()

    def __enter__(self) -> EmbeddingStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, batch: list[tuple[bytes, bytes]]) -> None:
        conn = self._connection()
        db.retrying(partial(_insert, conn, batch), self.path, self.timeout, WHAT)
        with self._lock:
            self.writes += len(batch)
            for key, blob in batch:
                if self._pending.get(key) is blob:
                    del self._pending[key]


def _reopen(path: str, timeout: float) -> EmbeddingStore:
    return EmbeddingStore(path, timeout=timeout)


def _after_fork(ref: weakref.ref[EmbeddingStore]) -> None:
    store = ref()
    if store is not None:
        store._db.abandon()
        store._reset()


def _rowid(key: bytes) -> int:
    return int.from_bytes(key[:8], "big", signed=True)


def _select(conn: sqlite3.Connection, keys: list[bytes]) -> list[tuple[bytes, bytes]]:
    """The rows of ``keys`` (a row whose whole key differs is another text's: left out)."""
    wanted = set(keys)
    marks = ",".join("?" * len(keys))
    query = f"SELECT key, vector FROM vectors WHERE id IN ({marks})"
    rows = conn.execute(query, [_rowid(key) for key in keys]).fetchall()
    return [row for row in rows if row[0] in wanted]


def _insert(conn: sqlite3.Connection, batch: list[tuple[bytes, bytes]]) -> None:
    """One write transaction (a row already there stays: the same vector, or in one case in
    2^64 another text's, whose key then stays a miss)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(_PUT, [(_rowid(key), key, blob) for key, blob in batch])
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _ensure_schema(conn: sqlite3.Connection, path: str) -> None:
    """Create the table in a new file; refuse another program's database or version."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if not tables:
            conn.execute(_CREATE)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    if ("vectors" not in tables and tables) or version != SCHEMA_VERSION:
        raise CacheFileError(
            f"{path!r} is not a fastcrew embedding store of version {SCHEMA_VERSION} (delete "
            "it: it is only a cache; or pick another path)",
            path=path,
        )
