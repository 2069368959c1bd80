"""``spawn``: run ``fastcrew sim`` in a child process (its own core), for benchmarks.

The child prints ``fastcrew sim listening on http://127.0.0.1:PORT/v1 (simulated LLM)``
as its first stdout line; we read the URL from it. Stats come over plain HTTP (urllib), so
nothing async is needed on this side. The API key goes through the environment, never argv.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
import urllib.request
from types import TracebackType
from typing import IO, Any

from .._json import loads
from .._loop import LoopKind
from .config import API_KEY_ENV, SimConfig

__all__ = ["SpawnedSim", "spawn"]

_LISTENING = re.compile(r"listening on (http://\S+/v1)")


def _first_line(stream: IO[bytes], timeout: float) -> bytes | None:
    box: list[bytes] = []
    reader = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return box[0] if box else None


class SpawnedSim:
    """A running ``fastcrew sim`` child process; a context manager that stops it on exit."""

    def __init__(
        self, config: SimConfig, *, loop: LoopKind = "uvloop", startup_timeout: float = 20.0
    ) -> None:
        self.config = config
        args = ["--port", "0", "--loop", loop, *config.to_cli_args()]
        env = dict(os.environ)
        if config.api_key is not None:
            env[API_KEY_ENV] = config.api_key
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fastcrew", "sim", *args],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )
        assert self.process.stdout is not None
        line = _first_line(self.process.stdout, startup_timeout)
        match = _LISTENING.search(line.decode(errors="replace")) if line else None
        if match is None:
            self._stop(timeout=5.0)
            self._stderr.seek(0)
            detail = self._stderr.read().decode(errors="replace").strip()[-2000:]
            self.close()
            why = "did not start in time" if line is None else "exited before listening"
            raise RuntimeError(f"fastcrew sim {why}: {detail or '(no output)'}")
        self.base_url: str = match.group(1)
        self.port = int(self.base_url.rsplit(":", 1)[1].split("/", 1)[0])
        self._root = self.base_url.removesuffix("/v1")

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.process.pid

    def _call(self, method: str, path: str) -> Any:
        data = b"" if method == "POST" else None
        request = urllib.request.Request(self._root + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return loads(response.read())

    def stats(self) -> dict[str, Any]:
        """The child's counters (``GET /sim/stats``)."""
        return self._call("GET", "/sim/stats")

    def reset_stats(self) -> None:
        """Zero the child's counters and refill its buckets (``POST /sim/reset``)."""
        self._call("POST", "/sim/reset")

    def _stop(self, timeout: float) -> int:
        process = self.process
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def close(self, timeout: float = 5.0) -> int:
        """SIGTERM the child, SIGKILL it after ``timeout`` s; returns its exit code."""
        code = self._stop(timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()
        return code

    def __enter__(self) -> SpawnedSim:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SpawnedSim pid={self.pid} {self.base_url} {self.config!r}>"


def spawn(
    config: SimConfig | None = None,
    *,
    loop: LoopKind = "uvloop",
    startup_timeout: float = 20.0,
    **options: Any,
) -> SpawnedSim:
    """Start ``python -m fastcrew sim --port 0 ...`` and wait until it listens."""
    return SpawnedSim(
        SimConfig.from_options(config, **options), loop=loop, startup_timeout=startup_timeout
    )
