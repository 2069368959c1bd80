"""``spawn``: run the simulator in a child process (its own core), for benchmarks and batches.

The child (``python -m fastcrew.sim.spawned``) reads its config, API key included, from its
stdin: the key is in neither its command line nor its environment (``FASTCREW_SIM_API_KEY``
is removed from the environment it inherits). It prints
``fastcrew sim listening on http://127.0.0.1:PORT/v1 (simulated LLM)`` as its first stdout
line; we read the URL from it. Stats come over plain HTTP (urllib), so nothing async is
needed on this side.

On Linux the child is started through ``fastcrew/_child.py``: it is SIGKILLed when the
*thread* that called ``spawn`` ends, so a ``kill -9`` of the spawning process does not leave
it running. The simulator must not outlive that thread: ``fastcrew batch`` and ``fastcrew
bench`` spawn in the caller's thread and close before returning; ``to_thread(spawn)`` is wrong.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import subprocess
import sys
import tempfile
import threading
import urllib.request
from types import TracebackType
from typing import IO, Any

from .._child import command
from .._json import dumps, loads
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
        argv = [sys.executable, "-m", "fastcrew.sim.spawned", "--loop", loop]
        env = {name: value for name, value in os.environ.items() if name != API_KEY_ENV}
        options = dataclasses.asdict(config)
        options["port"] = 0
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            command(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None
        assert stdout is not None
        # a child that died at once is reported below, with its stderr
        with contextlib.suppress(BrokenPipeError), stdin:
            stdin.write(dumps(options))
        line = _first_line(stdout, startup_timeout)
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
    """Start a simulator in a child process on a free port and wait until it listens.

    The child dies with the thread that calls this (Linux; see the module's docstring)."""
    return SpawnedSim(
        SimConfig.from_options(config, **options), loop=loop, startup_timeout=startup_timeout
    )
