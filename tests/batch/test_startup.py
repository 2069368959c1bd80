"""Where a batch worker's start-up went: the phases each worker measures (python, waiting for
the config, the crew/flow module's import, the build), the packages that import brought in,
and the summary's ``startup`` entry and stderr line — over real worker processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastcrew.batch.config import WorkerConfig
from fastcrew.batch.startup import new_packages, process_age_s, slowest, total_s
from fastcrew.batch.summary import format_startup
from fastcrew.batch.supervisor.events import WorkerUp
from fastcrew.batch.supervisor.worker_process import decode
from fastcrew.batch.wire.messages import Hello
from fastcrew.batch.worker.runner import RowRunner
from fastcrew.sim import SpawnedSim, spawn

from .helpers import batch_cmd, read_rows, write_inputs

SPEC = f"{Path(__file__).with_name('slow_import_crew.py')}:make_crew"
IMPORT_LOG_ENV = "FASTCREW_TEST_IMPORT_LOG"
HEAVY_PATH_ENV = "FASTCREW_TEST_HEAVY_PATH"
HEAVY_PACKAGE_ENV = "FASTCREW_TEST_HEAVY_PACKAGE"
"""The environment slow_import_crew.py reads (never imported here: it needs them)."""
BURN_S = 0.3
"""CPU seconds the heavy package's import burns (thread CPU time: never more than wall)."""
SUBMODULES = 30


def make_package(root: Path, name: str, *, submodules: int, burn_s: float = 0.0) -> Path:
    """A package ``name`` under ``root`` whose import loads ``submodules`` submodules and
    then burns ``burn_s`` seconds of the importing thread's CPU time."""
    package = root / name
    package.mkdir(parents=True)
    for i in range(submodules):
        (package / f"part{i}.py").write_text(f"VALUE = {i}\n")
    imports = "".join(f"from . import part{i}\n" for i in range(submodules))
    burn = (
        "import time\n"
        f"_end = time.thread_time() + {burn_s!r}\n"
        "while time.thread_time() < _end:\n"
        "    pass\n"
    )
    (package / "__init__.py").write_text(imports + burn)
    return root


@pytest.fixture(scope="module")
def sim() -> Iterator[SpawnedSim]:
    with spawn(seed=11, latency_ms=1) as server:
        yield server


def test_the_summary_says_where_worker_start_up_went(tmp_path: Path, sim: SpawnedSim):
    package = "startup_heavy_pkg"
    lib = make_package(tmp_path / "lib", package, submodules=SUBMODULES, burn_s=BURN_S)
    log = tmp_path / "imports.log"
    inputs = write_inputs(tmp_path / "in.jsonl", 200)
    out = tmp_path / "out.jsonl"
    env = {
        **os.environ,
        IMPORT_LOG_ENV: str(log),
        HEAVY_PATH_ENV: str(lib),
        HEAVY_PACKAGE_ENV: package,
    }
    done = subprocess.run(
        batch_cmd(inputs, out, sim.base_url, spec=SPEC),
        capture_output=True,
        env=env,
        timeout=120,
    )
    stderr = done.stderr.decode()
    assert done.returncode == 0, stderr
    rows = read_rows(out)
    assert [row["index"] for row in rows] == list(range(200))
    assert all(row["status"] == "ok" for row in rows)

    # The crew module was imported once per worker, not per row.
    pids = log.read_text().split()
    assert len(pids) == 2
    assert len(set(pids)) == 2

    startup = json.loads(Path(f"{out}.summary.json").read_text())["startup"]
    # the workers that said hello before the run ended (one may finish all 200 rows first)
    assert 1 <= startup["workers"] <= 2
    assert startup["kind"] == "crew"
    assert startup["import_s"] >= BURN_S
    assert startup["import_s"] > startup["build_s"] >= 0
    assert startup["imported"][0] == package
    assert isinstance(startup["python_s"], float)
    assert startup["python_s"] > 0
    assert startup["waited_s"] >= 0
    assert startup["total_s"] == total_s(startup)

    (line,) = [x for x in stderr.splitlines() if x.startswith("  worker start-up: ")]
    assert line == format_startup(startup)
    assert f"crew module import {startup['import_s']:.1f} s: {package}" in line
    assert line.startswith(f"  worker start-up: {startup['total_s']:.1f} s (python + fastcrew ")


def _config(**spec: str) -> WorkerConfig:
    return WorkerConfig(
        crew=spec.get("crew"),
        flow=spec.get("flow"),
        concurrency=1,
        chunk_size=1,
        loop="asyncio",
        rpm=None,
        tpm=None,
        model=None,
        base_url="http://127.0.0.1:9/v1",
        api_key="sk-test",
        simulated=False,
        timeout=None,
        max_line_bytes=1 << 20,
    )


def test_a_flow_worker_times_its_module_import_apart_from_loading_the_class(tmp_path: Path):
    make_package(tmp_path, "startup_flow_pkg", submodules=5)
    flow_file = tmp_path / "startup_flow.py"
    flow_file.write_text(
        "import startup_flow_pkg\n"
        "from fastcrew.flow import Flow, start\n\n"
        "class Tiny(Flow[dict]):\n"
        "    @start()\n"
        "    def begin(self):\n"
        "        return 1\n"
    )
    runner = RowRunner(_config(flow=f"{flow_file}:Tiny"))
    assert runner.flow is not None
    assert runner.flow.__name__ == "Tiny"
    assert runner.startup["imported"] == ["startup_flow_pkg"]
    assert runner.startup["import_s"] > 0
    assert runner.startup["build_s"] >= 0


def test_an_openai_batch_worker_has_no_module_phases():
    runner = RowRunner(_config())
    assert runner.startup == {"import_s": None, "build_s": None, "imported": []}


def test_new_packages_names_the_heaviest_new_top_level_packages_only(tmp_path: Path):
    make_package(tmp_path, "startup_big_pkg", submodules=4)
    make_package(tmp_path, "startup_small_pkg", submodules=1)
    sys.path.insert(0, str(tmp_path))
    try:
        before = list(sys.modules)
        import json.tool  # noqa: F401  (the standard library is never named)

        import startup_big_pkg  # noqa: F401
        import startup_small_pkg  # noqa: F401

        assert new_packages(before) == ["startup_big_pkg", "startup_small_pkg"]
        assert new_packages(before, limit=1) == ["startup_big_pkg"]
        assert new_packages(sys.modules) == []
    finally:
        sys.path.remove(str(tmp_path))


def test_process_age_counts_from_the_process_start():
    age = process_age_s()
    assert age is not None  # Linux
    # this process started before the test did, and not before the machine booted
    assert 0 < age <= float(Path("/proc/uptime").read_text().split()[0])
    time.sleep(0.05)
    later = process_age_s()
    assert later is not None
    assert later >= age


def test_hello_carries_the_breakdown_and_the_slowest_worker_is_reported():
    fast = {"python_s": 0.4, "waited_s": 3.0, "import_s": 0.1, "build_s": 0.1, "imported": []}
    slow = {"python_s": None, "waited_s": 0.0, "import_s": 4.6, "build_s": 0.2, "imported": ["a"]}
    assert decode(1, Hello(42, slow)) == WorkerUp(1, 42, slow)
    assert decode(1, Hello(42, None)) == WorkerUp(1, 42, None)
    entry = slowest([fast, slow], "flow")
    assert entry == {**slow, "total_s": 4.8, "kind": "flow", "workers": 2}
    # no python figure (a Ray actor's thread): that part is left out
    assert format_startup(entry) == (
        "  worker start-up: 4.8 s (flow module import 4.6 s: a, build 0.2 s)"
    )
    assert slowest([], "crew") is None
