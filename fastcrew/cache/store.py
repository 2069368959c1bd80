"""``ResponseCache``: provider answers by request key, in one SQLite file shared by processes.

- **Reads** run on the calling thread's own connection (one per thread, WAL: readers never
  wait for a writer), a point lookup by the key's first 8 bytes (the rowid) whose whole key
  is then compared: a get never returns another key's value. A hit is ~10 µs of CPU, cheap
  enough to do inline on an event loop.
- **Writes**: :meth:`put` writes at once (one ``BEGIN IMMEDIATE`` transaction; another
  process's write is waited for, busy errors retried); :meth:`put_later` queues the write for
  a background thread that writes everything queued in one transaction (the event loop's way:
  ~2 µs); :meth:`aput` queues and awaits the write. A queued value is served by :meth:`get`
  before it reaches the file.
- **Bounded**: the stored value bytes are kept ≤ ``max_bytes`` (and the rows ≤
  ``max_entries``): a write that goes over evicts the least recently used rows, down to 90 %
  of the bound, in its transaction. A hit marks its row used (a queued write, only when the
  mark is older than ``touch_after`` seconds), so hits stay read-only.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
import weakref
from functools import partial
from typing import Any, NamedTuple

from . import db
from .connections import ThreadConnections
from .key import KEY_SIZE
from .writer import WriteBehind

__all__ = ["DEFAULT_MAX_BYTES", "CacheSize", "CacheStats", "ResponseCache"]

DEFAULT_MAX_BYTES = 1 << 30
"""1 GiB of stored answers."""
LOW_WATER = 0.9
"""An eviction frees rows down to this share of the bound: one batch per ~10 % of writes."""


class CacheStats(NamedTuple):
    """What one :class:`ResponseCache` object did (this process, since it was made)."""

    hits: int
    misses: int
    writes: int
    evictions: int
    saved_usd: float
    """The recorded cost of the answers served from the cache."""


class CacheSize(NamedTuple):
    """What the file holds (every process's writes)."""

    entries: int
    bytes: int


class _Put(NamedTuple):
    key: bytes
    value: bytes
    cost_usd: float


class _Touch(NamedTuple):
    key: bytes


def _rowid(key: bytes) -> int:
    return int.from_bytes(key[:8], "big", signed=True)


def _after_fork(ref: weakref.ref[ResponseCache]) -> None:
    cache = ref()
    if cache is not None:
        cache._db.abandon()
        cache._reset()


class ResponseCache:
    """Provider answers by :func:`~fastcrew.cache.request_key`, in the SQLite file ``path``
    (created with its folder; several threads and processes may use one file at once).

    ``max_bytes`` bounds the stored values (default 1 GiB), ``max_entries`` the rows (default
    none); ``timeout`` is how long a write waits for other processes' writes (seconds);
    ``touch_after`` how old a row's last-used mark must be before a hit renews it (seconds).
    Raises :class:`CacheFileError` when the file is not a cache of this version.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_entries: int | None = None,
        timeout: float = 30.0,
        touch_after: float = 60.0,
    ) -> None:
        if max_bytes <= 0 or (max_entries is not None and max_entries <= 0):
            raise ValueError("max_bytes and max_entries must be positive")
        self.path = os.fspath(path)
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.timeout = timeout
        self.touch_after = touch_after
        self._touch_us = int(touch_after * 1e6)
        self._reset()
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        try:
            db.ensure_schema(self._connection(), self.path, timeout)
        except BaseException:
            self.close()
            raise
        os.register_at_fork(after_in_child=partial(_after_fork, weakref.ref(self)))

    def _reset(self) -> None:
        """Fresh per-process state (at start and in a forked child: connections and the writer
        thread do not cross a fork)."""
        self._lock = threading.Lock()
        self._db = ThreadConnections(self.path, self.timeout, "response cache")
        self._pending: dict[bytes, _Put] = {}
        self._touching: set[bytes] = set()
        self._writer: WriteBehind[_Put | _Touch] = WriteBehind(self._write, "fastcrew-cache")
        self.hits = self.misses = self.writes = self.evictions = 0
        self.saved_usd = 0.0

    def __repr__(self) -> str:
        return f"ResponseCache({self.path!r}, max_bytes={self.max_bytes})"

    def __reduce__(self) -> tuple[Any, ...]:
        options = {
            "max_bytes": self.max_bytes,
            "max_entries": self.max_entries,
            "timeout": self.timeout,
            "touch_after": self.touch_after,
        }
        return (_rebuild, (self.path, options))

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- connections ----------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        return self._db.get()

    def close(self) -> None:
        """Write what is queued, then close every connection (a later use raises)."""
        self._writer.stop()
        self._db.close()

    # -- reads ----------------------------------------------------------------------------

    def get(self, key: bytes) -> bytes | None:
        """The value stored under ``key``, or None (counted as a hit or a miss)."""
        queued = self._pending.get(key)
        if queued is not None:
            self._count_hit(queued.cost_usd)
            return queued.value
        try:
            row = self._connection().execute(db.GET, (_rowid(key),)).fetchone()
        except sqlite3.Error as exc:
            row = self._get_again(key, exc)
        if row is None or row[0] != key:
            with self._lock:
                self.misses += 1
            return None
        _, value, cost_usd, last_used_us = row
        if time.time_ns() // 1000 - last_used_us > self._touch_us and key not in self._touching:
            self._touching.add(key)
            self._writer.submit(_Touch(key))
        self._count_hit(cost_usd)
        return value

    def _count_hit(self, cost_usd: float) -> None:
        with self._lock:
            self.hits += 1
            self.saved_usd += cost_usd

    def _get_again(self, key: bytes, exc: sqlite3.Error) -> Any:
        if isinstance(exc, sqlite3.ProgrammingError) and self._db.closed:
            raise RuntimeError(f"response cache {self.path!r} is closed") from exc
        if not db.is_busy(exc):
            raise db.file_error(exc, self.path) from exc
        conn = self._connection()
        return db.retrying(
            lambda: conn.execute(db.GET, (_rowid(key),)).fetchone(), self.path, self.timeout
        )

    # -- writes ---------------------------------------------------------------------------

    def put(self, key: bytes, value: bytes, *, cost_usd: float = 0.0) -> None:
        """Store ``value`` (the provider's response bytes) under ``key`` now; ``cost_usd`` is
        what the answer cost (a hit adds it to :attr:`saved_usd`)."""
        op = self._op(key, value, cost_usd)
        if op is not None:
            self._write([op])

    def put_later(self, key: bytes, value: bytes, *, cost_usd: float = 0.0) -> None:
        """Queue a :meth:`put` for the writer thread and return at once; :meth:`get` serves
        the value meanwhile. :meth:`flush` waits for it (and raises a failed write's error)."""
        op = self._op(key, value, cost_usd)
        if op is not None:
            self._pending[key] = op
            self._writer.submit(op)

    async def aput(self, key: bytes, value: bytes, *, cost_usd: float = 0.0) -> None:
        """:meth:`put` without blocking the event loop: queued, then awaited."""
        self.put_later(key, value, cost_usd=cost_usd)
        await self.aflush()

    def flush(self) -> None:
        """Wait until every queued write is in the file; raise the error of one that failed."""
        self._writer.flush().result()

    async def aflush(self) -> None:
        """:meth:`flush`, awaited."""
        await asyncio.wrap_future(self._writer.flush())

    def _op(self, key: bytes, value: bytes, cost_usd: float) -> _Put | None:
        if len(key) != KEY_SIZE:
            raise ValueError(f"a cache key has {KEY_SIZE} bytes (request_key), not {len(key)}")
        if self._db.closed:
            raise RuntimeError(f"response cache {self.path!r} is closed")
        if len(value) > self.max_bytes:
            return None  # it could never stay: not stored
        return _Put(key, bytes(value), float(cost_usd))

    def _write(self, ops: list[_Put | _Touch]) -> None:
        conn = self._connection()
        written, evicted = db.retrying(lambda: self._transaction(conn, ops), self.path,
                                        self.timeout)  # fmt: skip
        with self._lock:
            self.writes += written
            self.evictions += evicted
            for op in ops:
                if isinstance(op, _Touch):
                    self._touching.discard(op.key)
                elif self._pending.get(op.key) is op:
                    del self._pending[op.key]

    def _transaction(self, conn: sqlite3.Connection, ops: list[_Put | _Touch]) -> tuple[int, int]:
        """One write transaction: the puts and touches, then the eviction they call for."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            newest = conn.execute("SELECT max(last_used_us) FROM responses").fetchone()[0] or 0
            tick = max(time.time_ns() // 1000, newest + 1)  # strictly after every other use
            puts, last = 0, None
            for op in ops:
                rowid = _rowid(op.key)
                if isinstance(op, _Put):
                    row = (rowid, op.key, len(op.value), op.cost_usd, tick, tick, op.value)
                    conn.execute(db.PUT, row)
                    puts, last = puts + 1, rowid
                else:
                    conn.execute(db.TOUCH, (tick, rowid, op.key))
                tick += 1
            evicted = self._evict(conn, last) if last is not None else 0
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return puts, evicted

    def _evict(self, conn: sqlite3.Connection, keep: int) -> int:
        """Delete the least recently used rows when a bound is exceeded (never ``keep``, the
        row just written: it could be over 90 % of the bound alone)."""
        entries, total = conn.execute(db.TOTALS).fetchone()
        free_bytes = total - int(self.max_bytes * LOW_WATER) if total > self.max_bytes else 0
        limit = self.max_entries
        free_rows = entries - int(limit * LOW_WATER) if limit and entries > limit else 0
        if free_bytes <= 0 and free_rows <= 0:
            return 0
        victims: list[tuple[int]] = []
        freed = 0
        cursor = conn.execute(db.OLDEST)
        for rowid, size in cursor:
            if freed >= free_bytes and len(victims) >= free_rows:
                break
            if rowid != keep:
                victims.append((rowid,))
                freed += size
        cursor.close()
        conn.executemany(db.DELETE, victims)
        return len(victims)

    # -- the file -------------------------------------------------------------------------

    def size(self) -> CacheSize:
        """Rows and value bytes in the file now."""
        entries, total = self._connection().execute(db.TOTALS).fetchone()
        return CacheSize(entries, total)

    def stats(self) -> CacheStats:
        """This object's counters."""
        with self._lock:
            return CacheStats(self.hits, self.misses, self.writes, self.evictions,
                              self.saved_usd)  # fmt: skip


def _rebuild(path: str, options: dict[str, Any]) -> ResponseCache:
    return ResponseCache(path, **options)
