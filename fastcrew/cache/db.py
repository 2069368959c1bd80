"""The cache file: opening a connection (WAL, busy timeout), the schema and its version, the
SQL, and turning SQLite's failures into errors that say what to do."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

from fastcrew.errors import ConfigurationError

__all__ = ["SCHEMA_VERSION", "CacheFileError", "connect", "ensure_schema", "retrying"]

T = TypeVar("T")

SCHEMA_VERSION = 1
"""Bumped on any change to the tables below; a file of another version is refused."""

_CREATE = (
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value) WITHOUT ROWID",
    """CREATE TABLE responses (
        id INTEGER PRIMARY KEY,     -- the key's first 8 bytes: one b-tree lookup per get
        key BLOB NOT NULL,          -- the whole key: a get checks it
        size INTEGER NOT NULL,
        cost_usd REAL NOT NULL,
        created_us INTEGER NOT NULL,
        last_used_us INTEGER NOT NULL,
        value BLOB NOT NULL         -- last: the small columns stay on the row's first page
    )""",
    "CREATE INDEX responses_lru ON responses (last_used_us, size)",
    """CREATE TABLE totals (
        id INTEGER PRIMARY KEY CHECK (id = 0), entries INTEGER NOT NULL, bytes INTEGER NOT NULL
    )""",
    "INSERT INTO totals VALUES (0, 0, 0)",
    """CREATE TRIGGER responses_ins AFTER INSERT ON responses BEGIN
        UPDATE totals SET entries = entries + 1, bytes = bytes + new.size;
    END""",
    """CREATE TRIGGER responses_del AFTER DELETE ON responses BEGIN
        UPDATE totals SET entries = entries - 1, bytes = bytes - old.size;
    END""",
    """CREATE TRIGGER responses_upd AFTER UPDATE OF size ON responses BEGIN
        UPDATE totals SET bytes = bytes - old.size + new.size;
    END""",
)

GET = "SELECT key, value, cost_usd, last_used_us FROM responses WHERE id = ?"
PUT = """
INSERT INTO responses (id, key, size, cost_usd, created_us, last_used_us, value)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    key = excluded.key, size = excluded.size, cost_usd = excluded.cost_usd,
    created_us = excluded.created_us, last_used_us = excluded.last_used_us, value = excluded.value
"""
TOUCH = "UPDATE responses SET last_used_us = ? WHERE id = ? AND key = ?"
TOTALS = "SELECT entries, bytes FROM totals"
OLDEST = "SELECT id, size FROM responses ORDER BY last_used_us"
DELETE = "DELETE FROM responses WHERE id = ?"

_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_BROKEN = {sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT}


class CacheFileError(ConfigurationError):
    """The response cache's file cannot be used: not a database, damaged, of another schema
    version, or not openable. ``path`` is the file; the message says what to do."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


def file_error(exc: sqlite3.Error, path: str, what: str = "response cache") -> CacheFileError:
    """The :class:`CacheFileError` for an SQLite failure on ``path`` (``what`` the file is)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and (code & 0xFF) in _BROKEN:
        fault = "is not an SQLite database or is damaged"
        todo = "delete it (it is only a cache: what it held is fetched again) or pick another path"
    else:
        fault = f"cannot be used ({exc})"
        todo = "check that its folder exists and is writable, or pick another path"
    return CacheFileError(f"{what} {path!r} {fault}: {todo}", path=path)


def is_busy(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` is another connection holding the lock (worth another try)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) in _BUSY


def retrying(work: Callable[[], T], path: str, timeout: float, what: str = "response cache") -> T:
    """``work()``, tried again while another process holds the lock (beyond the busy timeout
    SQLite waits itself: a lock upgrade or a WAL switch returns busy at once), up to
    ``timeout`` seconds; any other SQLite failure → :class:`CacheFileError`."""
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        try:
            return work()
        except sqlite3.Error as exc:
            if not is_busy(exc) or time.monotonic() >= deadline:
                raise file_error(exc, path, what) from exc
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def connect(path: str, timeout: float, what: str = "response cache") -> sqlite3.Connection:
    """A new connection to ``path`` in WAL mode, ``synchronous=NORMAL``, with a busy timeout
    (autocommit: transactions are explicit)."""
    try:
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise file_error(exc, path, what) from exc

    def setup() -> None:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL").fetchone()
        conn.execute("PRAGMA synchronous = NORMAL")

    try:
        retrying(setup, path, timeout, what)
    except BaseException:
        conn.close()
        raise
    return conn


def ensure_schema(conn: sqlite3.Connection, path: str, timeout: float) -> None:
    """Create the tables in a new file; refuse a file of another schema version or another
    program's database."""

    def check() -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            if "meta" not in tables and tables:
                raise CacheFileError(
                    f"{path!r} is an SQLite database but not a fastcrew response cache "
                    f"(its tables: {', '.join(sorted(tables))}): pick another path",
                    path=path,
                )
            if "meta" not in tables:
                for statement in _CREATE:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO meta VALUES ('schema_version', ?), ('created_us', ?)",
                    (SCHEMA_VERSION, time.time_ns() // 1000),
                )
            found = conn.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        version = found[0] if found else None
        if version != SCHEMA_VERSION:
            raise CacheFileError(
                f"response cache {path!r} has schema version {version!r}, this fastcrew "
                f"writes version {SCHEMA_VERSION}: delete the file (it is only a cache) or "
                "pick another path",
                path=path,
            )

    retrying(check, path, timeout)
