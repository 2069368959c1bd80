"""``python -m fastcrew.batch.worker FD``: a batch worker on the socket ``FD`` (spawned by the
supervisor; see :mod:`~fastcrew.batch.worker.main`)."""

import sys

from .main import worker_main

worker_main(int(sys.argv[1]))
