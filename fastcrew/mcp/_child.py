"""Start an MCP stdio server that dies with the process that started it, even on kill -9.

``python -I -S _child.py <parent pid> <command> <args...>``: asks Linux to SIGKILL this
process when the thread that forked it ends (``prctl(PR_SET_PDEATHSIG)``, kept across
``exec``), exits if the parent is already gone, then ``exec`` s the command, which keeps
this pid. Standard library only, run as a file (no package import): it costs ~15 ms.
Processes the server itself starts are not covered (they are in its process group, which
the MCP SDK kills on a normal close).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> None:
    parent, command = int(argv[1]), argv[2:]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        print("fastcrew: prctl(PR_SET_PDEATHSIG) failed", file=sys.stderr)
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"fastcrew: cannot run {command[0]!r}: {exc.strerror}", file=sys.stderr)
        os._exit(127)


if __name__ == "__main__":
    main(sys.argv)
