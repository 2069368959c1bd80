"""A crew module whose import is slow in one worker only, for the round-trigger tests.

The first process to import it creates the file ``$FASTCREW_TEST_SLOW_START`` and sleeps
``$FASTCREW_TEST_SLOW_START_S`` seconds (default 2); every other import is immediate. The
crew is ``crews.py``'s ``three_step_crew``.
"""

from __future__ import annotations

import os
import sys
import time

SLOW_START_ENV = "FASTCREW_TEST_SLOW_START"
SLOW_START_S_ENV = "FASTCREW_TEST_SLOW_START_S"


def _first_import(flag: str) -> bool:
    try:
        os.close(os.open(flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


if _first_import(os.environ[SLOW_START_ENV]):
    time.sleep(float(os.environ.get(SLOW_START_S_ENV, "2")))

sys.path.insert(0, os.path.dirname(__file__))
from crews import three_step_crew  # noqa: E402

__all__ = ["three_step_crew"]
