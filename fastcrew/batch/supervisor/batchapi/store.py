"""The answers downloaded, by request key, in one SQLite file (``<output>.batchapi.sqlite``).

A resumed run's rows start their crews from scratch: their earlier calls have the same
request bodies, so they are answered from here without a new request. Written in one
transaction per downloaded chunk, committed before the job's ``done`` record.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

__all__ = ["AnswerStore"]


class AnswerStore:
    """``key (16 bytes) → (status, body)``: the provider's answers to batch requests."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS answers "
            "(key BLOB PRIMARY KEY, status INTEGER NOT NULL, body BLOB NOT NULL) WITHOUT ROWID"
        )

    def get(self, key: bytes) -> tuple[int, bytes] | None:
        """The stored answer to ``key``, or None."""
        row = self._db.execute("SELECT status, body FROM answers WHERE key = ?", (key,)).fetchone()
        return None if row is None else (row[0], bytes(row[1]))

    def put_many(self, answers: Iterable[tuple[bytes, int, bytes]]) -> None:
        """Store ``(key, status, body)`` answers in one transaction."""
        db = self._db
        db.execute("BEGIN")
        try:
            db.executemany("INSERT OR REPLACE INTO answers VALUES (?, ?, ?)", answers)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM answers").fetchone()[0])

    def close(self) -> None:
        """Close the connection."""
        self._db.close()
