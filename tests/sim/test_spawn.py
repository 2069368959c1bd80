"""A spawned simulator (real processes): it dies with its parent, even on kill -9, and its
API key is in neither its environment nor its command line."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from fastcrew._json import dumps
from fastcrew.sim import SpawnedSim, spawn
from fastcrew.sim.config import API_KEY_ENV

KEY = "sk-spawn-secret-0123456789abcdef"
PARENT = """
import sys
import threading
from fastcrew.sim import SpawnedSim, spawn

sim = spawn(seed=1)
print(sim.pid, flush=True)
sys.stdin.read()  # until the test kills us
"""
LINUX = sys.platform == "linux"


def gone(pid: int) -> bool:
    """The process has exited (a zombie waiting to be reaped counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def exit_watch(pid: int) -> int:
    """A pidfd of ``pid``: readable once the process has exited (Linux >= 5.3)."""
    return os.pidfd_open(pid)


def exited_within(pidfd: int, cap_s: float = 10.0) -> bool:
    """Wait (no polling) until the process behind ``pidfd`` exits, at most ``cap_s``."""
    readable, _, _ = select.select([pidfd], [], [], cap_s)
    return bool(readable)


@pytest.mark.skipif(not LINUX, reason="PR_SET_PDEATHSIG is Linux-only")
def test_the_simulator_dies_when_its_parent_is_killed_with_sigkill() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert parent.stdout is not None
    sim_pid = int(parent.stdout.readline())
    try:
        watch = exit_watch(sim_pid)
        assert not gone(sim_pid)
        status = Path(f"/proc/{sim_pid}/status").read_text()
        assert f"PPid:\t{parent.pid}\n" in status  # the parent's child: launcher exec'd in place
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        try:
            assert exited_within(watch, 10.0), "the simulator outlived its SIGKILLed parent"
        finally:
            os.close(watch)
        assert gone(sim_pid)
    finally:
        if not gone(sim_pid):
            os.kill(sim_pid, signal.SIGKILL)
        parent.kill()
        parent.wait()
        for stream in (parent.stdin, parent.stdout):
            if stream is not None:
                stream.close()


def _status(url: str, key: str | None) -> int:
    data = dumps({"messages": [{"role": "user", "content": "hi"}]})
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    request = urllib.request.Request(f"{url}/chat/completions", data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code


@pytest.mark.skipif(not LINUX, reason="reads /proc")
def test_the_api_key_is_in_neither_environ_nor_cmdline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(API_KEY_ENV, "sk-parent-env-key-99999999")
    with spawn(api_key=KEY) as sim:
        environ = Path(f"/proc/{sim.pid}/environ").read_bytes()
        cmdline = Path(f"/proc/{sim.pid}/cmdline").read_bytes()
        for seen in (environ, cmdline):
            assert KEY.encode() not in seen
            assert b"sk-parent-env-key" not in seen
            assert API_KEY_ENV.encode() not in seen
        assert b"fastcrew.sim.spawned" in cmdline
        assert _status(sim.base_url, KEY) == 200
        assert _status(sim.base_url, None) == 401
        assert _status(sim.base_url, "sk-parent-env-key-99999999") == 401
    assert sim.process.returncode == 0


def test_the_parents_key_variable_does_not_leak_into_a_keyless_simulator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(API_KEY_ENV, "sk-parent-env-key-99999999")
    with spawn() as sim:  # no api_key: the simulator takes any request
        assert _status(sim.base_url, None) == 200
    assert sim.process.returncode == 0


def test_spawn_passes_every_option() -> None:
    with spawn(seed=5, model_name="spawned-model", rpm=100, api_key=KEY) as sim:
        request = urllib.request.Request(sim.base_url + "/models")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert b"spawned-model" in response.read()
        data = dumps({"messages": [{"role": "user", "content": "hi"}]})
        headers = {"Authorization": f"Bearer {KEY}"}
        chat = urllib.request.Request(f"{sim.base_url}/chat/completions", data, headers)
        with urllib.request.urlopen(chat, timeout=10) as response:
            assert response.headers["x-ratelimit-limit-requests"] == "100"
    assert sim.process.returncode == 0


@pytest.mark.skipif(not LINUX, reason="PR_SET_PDEATHSIG is Linux-only")
def test_the_simulator_dies_with_the_thread_that_spawned_it() -> None:
    """The documented limit: the signal follows the spawning *thread*, so ``spawn`` belongs in
    a thread that outlives the simulator."""
    box: list[SpawnedSim] = []
    worker = threading.Thread(target=lambda: box.append(spawn()))
    worker.start()
    worker.join(30)
    [sim] = box
    watch = exit_watch(sim.pid)
    try:
        assert exited_within(watch, 10.0), "the simulator outlived the thread that spawned it"
    finally:
        os.close(watch)
        assert sim.close() == -signal.SIGKILL
