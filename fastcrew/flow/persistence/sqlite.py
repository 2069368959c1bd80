"""The default store: one SQLite file (stdlib ``sqlite3``), one row per state id.

- **One row per state id**, replaced on every save (an upsert): the file holds the latest
  checkpoint of each flow, not a history (CrewAI appends a row per save).
- **WAL mode** and a busy timeout: flows in several processes (batch workers) may write the
  same file at once — readers never block writers, writers wait for each other up to
  ``timeout`` seconds. ``synchronous=NORMAL``: a save survives a crash or ``kill -9`` of the
  process (not a power cut of the machine).
- **One connection per store and process**, opened on first use (importing a module with
  ``@persist()`` creates no file), shared by threads under a lock; a forked child opens its own.
- The table is ``fastcrew_flow_states``, so a file CrewAI wrote (table ``flow_states``) is not
  read or changed.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from ..._storage import STORAGE_ENV, data_path
from .base import Checkpoint, FlowPersistence, state_dict

__all__ = ["DB_NAME", "STORAGE_ENV", "SQLiteFlowPersistence", "default_db_path"]

DB_NAME = "flow_states.db"
TABLE = "fastcrew_flow_states"
DEFAULT_TIMEOUT_S = 30.0

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    flow_uuid TEXT PRIMARY KEY,
    method_name TEXT,
    finished INTEGER NOT NULL DEFAULT 0,
    state_json TEXT NOT NULL,
    frame BLOB,
    result_json TEXT,
    updated_at TEXT NOT NULL
)
"""
_UPSERT = f"""
INSERT INTO {TABLE} (flow_uuid, method_name, finished, state_json, frame, result_json, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (flow_uuid) DO UPDATE SET
    method_name = excluded.method_name, finished = excluded.finished,
    state_json = excluded.state_json, frame = excluded.frame,
    result_json = excluded.result_json, updated_at = excluded.updated_at
"""
_SELECT = (
    f"SELECT state_json, method_name, finished, frame, result_json FROM {TABLE} WHERE flow_uuid = ?"
)


def default_db_path() -> str:
    """``$FASTCREW_STORAGE_DIR/flow_states.db``, else
    ``$XDG_DATA_HOME/fastcrew/<name of the working directory>/flow_states.db``
    (``~/.local/share/...`` when ``XDG_DATA_HOME`` is unset) — per project, as CrewAI does."""
    return str(data_path(DB_NAME))


def _encode(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class SQLiteFlowPersistence(FlowPersistence):
    """Flow states in one SQLite file (CrewAI's ``SQLiteFlowPersistence(db_path=...)``).

    ``db_path``: the file (created, with its folder, on first use); default
    :func:`default_db_path`. ``timeout``: seconds a save waits for another process's write.
    """

    persistence_type = "sqlite"

    def __init__(
        self, db_path: str | os.PathLike[str] | None = None, *, timeout: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self.db_path = os.fspath(db_path) if db_path else default_db_path()
        self.timeout = timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    def __repr__(self) -> str:
        return f"SQLiteFlowPersistence(db_path={self.db_path!r})"

    def describe(self) -> str:
        return f"SQLite file {self.db_path!r}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SQLiteFlowPersistence):
            return NotImplemented
        return os.path.abspath(self.db_path) == os.path.abspath(other.db_path)

    def __hash__(self) -> int:
        return hash(os.path.abspath(self.db_path))

    def __getstate__(self) -> dict[str, Any]:
        return {"db_path": self.db_path, "timeout": self.timeout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["db_path"], timeout=state["timeout"])  # type: ignore[misc]

    # -- connection -----------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        """The open connection (call with the lock held)."""
        conn = self._conn
        if conn is not None and self._pid == os.getpid():
            return conn
        folder = os.path.dirname(os.path.abspath(self.db_path))
        os.makedirs(folder, exist_ok=True)
        conn = sqlite3.connect(
            self.db_path, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(_SCHEMA)
        except BaseException:
            conn.close()
            raise
        self._conn, self._pid = conn, os.getpid()
        return conn

    def init_db(self) -> None:
        """Create the file and its table (done on first use anyway)."""
        with self._lock:
            self._connection()

    def close(self) -> None:
        """Close this process's connection (the next use reopens it)."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None and self._pid == os.getpid():
                conn.close()

    # -- CrewAI's interface ---------------------------------------------------------------

    def save_state(
        self, flow_uuid: str, method_name: str, state_data: dict[str, Any] | BaseModel
    ) -> None:
        """Save ``state_data`` as the latest state of ``flow_uuid`` (an unfinished kickoff
        whose position is unknown: a restore runs from the start methods)."""
        self.save_checkpoint(flow_uuid, Checkpoint(state_dict(state_data), method_name))

    def load_state(self, flow_uuid: str) -> dict[str, Any] | None:
        """The latest state of ``flow_uuid``, or None."""
        checkpoint = self.load_checkpoint(flow_uuid)
        return None if checkpoint is None else checkpoint.state

    # -- checkpoints ----------------------------------------------------------------------

    def save_checkpoint(self, flow_uuid: str, checkpoint: Checkpoint) -> None:
        """Replace the record of ``flow_uuid`` with ``checkpoint`` (one transaction)."""
        row = (
            str(flow_uuid),
            checkpoint.method,
            int(checkpoint.finished),
            _encode(checkpoint.state),
            checkpoint.frame,
            None if not checkpoint.finished else _encode(checkpoint.result),
            datetime.now(UTC).isoformat(),
        )
        with self._lock:
            self._connection().execute(_UPSERT, row)

    def load_checkpoint(self, flow_uuid: str) -> Checkpoint | None:
        """The record of ``flow_uuid``, or None."""
        with self._lock:
            found = self._connection().execute(_SELECT, (str(flow_uuid),)).fetchone()
        if found is None:
            return None
        state_json, method, finished, frame, result_json = found
        state = json.loads(state_json)
        if not isinstance(state, dict):
            return None
        return Checkpoint(
            state=state,
            method=method,
            finished=bool(finished),
            frame=bytes(frame) if frame is not None else None,
            result=json.loads(result_json) if result_json is not None else None,
        )

    def delete_state(self, flow_uuid: str) -> None:
        """Forget ``flow_uuid`` (its next kickoff starts fresh)."""
        with self._lock:
            self._connection().execute(f"DELETE FROM {TABLE} WHERE flow_uuid = ?", (flow_uuid,))
