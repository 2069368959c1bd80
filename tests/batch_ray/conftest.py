"""A real multi-node Ray cluster on this machine for the Ray backend's tests.

``ray start --head`` plus one ``ray start --address`` (two raylets: two nodes of 2 CPUs),
all on 127.0.0.1, in a private ``--temp-dir``; no dashboard, a small object store. Each
``ray start`` runs in its own session, so teardown kills exactly the processes of this
cluster (by session id), never another Ray on the machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

RAYSTART = str(Path(__file__).with_name("raystart.py"))
NODES = 2
CPUS_PER_NODE = 2
START_TIMEOUT_S = 120.0


@dataclass
class RayCluster:
    """The running test cluster."""

    address: str
    temp_dir: str
    sessions: list[int]
    started_in_s: float

    def pids(self) -> list[int]:
        """Every live process of the cluster (raylets, GCS, workers, actors)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[3]) in self.sessions and fields[0] != "Z":
                found.append(int(entry.name))
        return found

    def cpu_by_pid(self, pids: list[int] | None = None) -> dict[int, float]:
        """CPU seconds used so far by each live process of the cluster (or of ``pids``)."""
        found = {}
        tick = os.sysconf("SC_CLK_TCK")
        for pid in self.pids() if pids is None else pids:
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                found[pid] = (int(fields[11]) + int(fields[12])) / tick
        return found

    def actor_pids(self) -> list[int]:
        """The batch worker actors' processes (``ray::FastcrewWorker``)."""
        pids = []
        for pid in self.pids():
            with contextlib.suppress(OSError):
                if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"ray::FastcrewWorker"):
                    pids.append(pid)
        return pids

    def driver_env(self) -> dict[str, str]:
        """The environment of a driver process (a subprocess running ``fastcrew batch``)."""
        env = dict(os.environ)
        env.update(DRIVER_ENV)
        env.pop("RAY_ADDRESS", None)
        return env


DRIVER_ENV = {
    # The driver keeps 127.0.0.1 as its address too (Ray would map it to the outside one).
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
    # A loopback cluster of our own: no token, whatever ~/.ray/auth_token holds (Ray 2.5x
    # turns token auth on when that file exists, and a local ray.init() writes it).
    "RAY_AUTH_MODE": "disabled",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ray_start(args: list[str], temp_dir: str) -> int:
    env = {**os.environ, **DRIVER_ENV, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1"}
    env.pop("RAY_ADDRESS", None)
    process = subprocess.Popen(
        [
            sys.executable,
            RAYSTART,
            "start",
            *args,
            "--node-ip-address=127.0.0.1",
            f"--num-cpus={CPUS_PER_NODE}",
            "--num-gpus=0",
            "--object-store-memory=80000000",
            f"--temp-dir={temp_dir}",
            "--disable-usage-stats",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    out, _ = process.communicate(timeout=START_TIMEOUT_S)
    if process.returncode != 0:
        raise RuntimeError(f"ray start failed:\n{out.decode(errors='replace')}")
    return process.pid  # the session id of every daemon it left running


def _stop(cluster: RayCluster) -> None:
    """SIGKILL every process of the cluster (a throwaway cluster: nothing to save)."""
    deadline = time.monotonic() + 10.0
    while (pids := cluster.pids()) and time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


@contextlib.contextmanager
def local_cluster(nodes: int = NODES) -> Iterator[RayCluster]:
    """Start the cluster; this process is set up as a driver until it is torn down."""
    temp_dir = tempfile.mkdtemp(prefix="fcray-", dir="/tmp")  # short: Ray's socket paths
    port = _free_port()
    address = f"127.0.0.1:{port}"
    cluster = RayCluster(address, temp_dir, [], 0.0)
    saved = {name: os.environ.get(name) for name in (*DRIVER_ENV, "RAY_ADDRESS")}
    started = time.monotonic()
    try:
        cluster.sessions.append(
            _ray_start(["--head", f"--port={port}", "--include-dashboard=false"], temp_dir)
        )
        for _ in range(nodes - 1):
            cluster.sessions.append(_ray_start([f"--address={address}"], temp_dir))
        cluster.started_in_s = time.monotonic() - started
        os.environ.update(DRIVER_ENV)
        os.environ.pop("RAY_ADDRESS", None)
        yield cluster
    finally:
        _stop(cluster)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    """Two Ray nodes (2 CPUs each) on 127.0.0.1; this process is set up as a driver."""
    with local_cluster() as cluster:
        yield cluster
