"""What a batch worker loads before its first row: the crew's runtime, not the flow engine
(sqlite3 and all) nor anything only the supervisor, the CLI or other backends use.

Checked in a fresh interpreter that does what ``python -m fastcrew.batch.worker`` does before
its first row: import the worker module, then build the row runner (the crew is loaded)."""

from __future__ import annotations

import json
import subprocess
import sys

from .helpers import CREW

NOT_IN_A_CREW_WORKER = (
    "fastcrew.flow",
    "sqlite3",
    "fastcrew.sim",
    "fastcrew.project",
    "fastcrew.benchmark",
    "fastcrew.batch.ray",
    "ray",
    "yaml",
    "rich",
    "click",
    "httpx",
)

_CODE = """
import json, sys
import fastcrew.batch.worker.main
from fastcrew.batch.config import WorkerConfig
from fastcrew.batch.worker.runner import RowRunner
config = WorkerConfig(
    crew=sys.argv[1], concurrency=1, chunk_size=1, loop="asyncio", rpm=None, tpm=None,
    model=None, base_url="http://127.0.0.1:9/v1", api_key="sk-test", simulated=False,
    timeout=None, max_line_bytes=1 << 20,
)
fastcrew.batch.worker.main._environment(config)  # as the worker does, then it builds the runner
runner = RowRunner(config)
assert runner.crew is not None
print(json.dumps(sorted(sys.modules)))
"""


def test_a_crew_worker_loads_no_flow_engine_and_no_supervisor_side_library():
    done = subprocess.run(
        [sys.executable, "-c", _CODE, CREW], capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(done.stdout))
    found = sorted(
        name
        for name in loaded
        if any(name == m or name.startswith(m + ".") for m in NOT_IN_A_CREW_WORKER)
    )
    assert found == []
    assert {"fastcrew.runtime", "aiohttp"} <= loaded  # what a crew does need
