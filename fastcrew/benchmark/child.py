"""The parent side of a cell: start its process, follow its progress, bound its time."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from .probe import MARK

__all__ = ["CellProcess"]


class CellProcess:
    """One cell's process (its own session, so a timeout ends its batch workers too)."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def _read(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode(errors="replace")
            if line.startswith(MARK):
                with contextlib.suppress(ValueError):
                    self.messages.put(json.loads(line[len(MARK) :]))
        self.messages.put(None)

    def wait(
        self, timeout: float, on_progress: Callable[[int], None] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Until the cell reports (``"ok"``/``"error"``) or ``timeout`` s pass (``"timeout"``).

        Returns the status and the last message (``{"done": k}`` on a timeout)."""
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                return "timeout", last
            try:
                message = self.messages.get(timeout=min(left, 1.0))
            except queue.Empty:
                continue
            if message is None:  # stdout closed: the process ended without a result
                self.process.wait()
                code = self.process.returncode
                error = last.get("error") or f"exit code {code}: {self.stderr_tail()}"
                return "error", {"error": error}
            if "result" in message:
                self.process.wait()
                return "ok", message["result"]
            if "error" in message:
                last = {"error": message["error"]}
            elif "done" in message:
                last = message
                if on_progress is not None:
                    on_progress(int(message["done"]))

    def stderr_tail(self, limit: int = 1500) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace").strip()[-limit:]

    def kill(self) -> None:
        """SIGKILL the cell's whole process group (the cell and any workers it started)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def close(self) -> None:
        self.kill()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()
