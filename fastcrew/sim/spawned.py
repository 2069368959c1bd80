"""The entry point of a spawned simulator: ``python -m fastcrew.sim.spawned --loop KIND``.

``spawn`` (``process.py``) writes the whole config, API key included, as one JSON object to
the child's stdin and closes it; nothing secret is on the command line or in the
environment (``/proc/PID/cmdline`` and ``/proc/PID/environ`` are readable by the same user).
The child then serves as ``fastcrew sim`` does, printing the listening line first.
"""

from __future__ import annotations

import sys
from typing import cast, get_args

from .._json import JSONDecodeError, loads
from .._loop import LoopKind
from .config import SimConfig

__all__ = ["main"]


def main(argv: list[str]) -> int:
    """Read the config from stdin and serve until SIGTERM; returns the exit code."""
    kinds = get_args(LoopKind)
    if len(argv) != 2 or argv[0] != "--loop" or argv[1] not in kinds:
        print(
            f"usage: python -m fastcrew.sim.spawned --loop {{{','.join(kinds)}}}", file=sys.stderr
        )
        return 2
    try:
        options = loads(sys.stdin.buffer.read())
        config = SimConfig(**options)
    except (JSONDecodeError, TypeError, ValueError) as exc:
        print(f"fastcrew sim: bad config on stdin: {type(exc).__name__}", file=sys.stderr)
        return 2  # the message could quote the key: only the error's kind is printed
    from .server import run

    run(config, loop=cast(LoopKind, argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
