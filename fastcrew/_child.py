"""Start a child that dies with its parent, even when the parent is killed with kill -9.

``python -I -S _child.py <parent pid> <command> <args...>``: asks Linux to SIGKILL this
process when the *thread* that forked it ends (``prctl(PR_SET_PDEATHSIG)``, kept across
``exec``), exits if the parent is already gone, then ``exec`` s the command, which keeps
this pid. Standard library only, run as a file (no package import): it costs ~15 ms.

The signal follows the forking thread, not the process: fork from a thread that lives as
long as the child should (the main thread, a loop's thread), never from a short-lived worker
thread. Processes the command itself starts are not covered. Used for MCP stdio servers
(``mcp/_sdk.py``) and spawned simulators (``sim/process.py``, through :func:`command`).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def command(argv: list[str]) -> list[str]:
    """``argv`` run through this launcher on Linux (the caller's pid as the parent); other
    systems have no such signal, so ``argv`` unchanged."""
    if sys.platform != "linux" or not sys.executable:
        return list(argv)
    return [sys.executable, "-I", "-S", os.path.abspath(__file__), str(os.getpid()), *argv]


def main(argv: list[str]) -> None:
    """Arm the signal, check the parent, ``exec`` the command."""
    parent, child = int(argv[1]), argv[2:]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        print("fastcrew: prctl(PR_SET_PDEATHSIG) failed", file=sys.stderr)
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    try:
        os.execvp(child[0], child)
    except OSError as exc:
        print(f"fastcrew: cannot run {child[0]!r}: {exc.strerror}", file=sys.stderr)
        os._exit(127)


if __name__ == "__main__":
    main(sys.argv)
