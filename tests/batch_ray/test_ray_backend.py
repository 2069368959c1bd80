"""``backend="ray"`` on a real two-node Ray cluster (conftest) against a spawned simulator.

Every scenario checks exactly-once and order, identity with the local backend's output for
the same simulator seed, and — from the simulator's request counter — that no finished row
was requested again. Moments are chosen by progress (rows in the journal), not by sleeping.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batch.helpers import (
    CREW,
    assert_exactly_once_in_order,
    batch_cmd,
    deterministic,
    journal_rows,
    kill,
    read_rows,
    running,
    wait_for,
    worker_pids,
    write_inputs,
)

from fastcrew import BatchResult, run_batch
from fastcrew.sim import SpawnedSim, spawn

from .conftest import RayCluster

pytestmark = [pytest.mark.ray, pytest.mark.timeout(180)]

N = 2000
SEED = 11
ACTORS = 4  # 2 nodes x 2 CPUs


@pytest.fixture(scope="module")
def sim() -> Iterator[SpawnedSim]:
    """10 to 40 ms per call: a run of N rows takes a couple of seconds."""
    with spawn(seed=SEED, latency_ms=10, jitter_ms=10) as server:
        yield server


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_inputs(tmp_path_factory.mktemp("inputs") / "in.jsonl", N)


@pytest.fixture(scope="module")
def reference(inputs: Path, sim: SpawnedSim, tmp_path_factory: pytest.TempPathFactory):
    """The rows of an uninterrupted local run (deterministic fields only)."""
    out = tmp_path_factory.mktemp("reference") / "out.jsonl"
    result = run_batch(inputs, crew=CREW, output=out, base_url=sim.base_url, workers=2, quiet=True)
    assert result.exit_code == 0
    return deterministic(read_rows(out))


def on_ray(inputs: Path, out: Path, cluster: RayCluster, base_url: str, **kw: Any) -> BatchResult:
    kw.setdefault("workers", ACTORS)
    return run_batch(
        inputs,
        crew=CREW,
        output=out,
        base_url=base_url,
        backend="ray",
        ray_address=cluster.address,
        quiet=True,
        **kw,
    )


def start_driver(inputs: Path, out: Path, sim: SpawnedSim, cluster: RayCluster, *extra: str):
    """``fastcrew batch`` as its own process (to be killed)."""
    return subprocess.Popen(
        batch_cmd(inputs, out, sim.base_url, "--concurrency", "10", *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cluster.driver_env(),
    )


RAY = ("--backend", "ray", "--workers", str(ACTORS))


def without_timing(data: bytes) -> bytes:
    return re.sub(rb',"elapsed_s":[0-9.e-]+', b"", data)


def resume_on_ray_and_check(
    inputs: Path, out: Path, sim: SpawnedSim, cluster: RayCluster, reference: list[Any]
) -> BatchResult:
    done_before = journal_rows(out)
    assert 0 < done_before < N
    requests_before = sim.stats()["requests_total"]
    result = on_ray(inputs, out, cluster, sim.base_url)
    assert result.exit_code == 0
    assert sim.stats()["requests_total"] - requests_before == N - done_before
    rows = read_rows(out)
    assert_exactly_once_in_order(rows, N)
    assert deterministic(rows) == reference
    return result


def test_rows_over_two_nodes_exactly_once_in_order_as_the_local_backend(
    ray_cluster: RayCluster, sim: SpawnedSim, tmp_path: Path
):
    n = 5000
    inputs = write_inputs(tmp_path / "in.jsonl", n)
    local = tmp_path / "local.jsonl"
    done = run_batch(inputs, crew=CREW, output=local, base_url=sim.base_url, workers=2, quiet=True)
    assert done.exit_code == 0
    before = sim.stats()["requests_total"]
    out = tmp_path / "ray.jsonl"
    # 4 actors x 10 rows at 10-40 ms: ~5 s of work, so a node whose actors start a few
    # seconds after the other's (a loaded machine) still gets rows.
    result = on_ray(inputs, out, ray_cluster, sim.base_url, concurrency=10)
    assert result.exit_code == 0
    assert sim.stats()["requests_total"] - before == n  # each row asked for exactly once
    assert_exactly_once_in_order(read_rows(out), n)
    assert without_timing(out.read_bytes()) == without_timing(local.read_bytes())
    nodes = result.summary["ray"]["nodes"]
    assert len({node["node_id"] for node in nodes}) == 2
    assert [node["workers"] for node in nodes] == [2, 2]
    assert sum(node["rows"] for node in nodes) == n
    assert all(node["rows"] > 0 for node in nodes)
    assert result.summary["backend"] == "ray"
    assert result.summary["workers"] == ACTORS


def test_kill_9_of_an_actor_mid_run(
    ray_cluster: RayCluster, inputs: Path, sim: SpawnedSim, reference, tmp_path: Path
):
    out = tmp_path / "out.jsonl"
    driver = start_driver(inputs, out, sim, ray_cluster, *RAY, "--ray-address", ray_cluster.address)
    wait_for(lambda: journal_rows(out) >= N // 3, timeout=90, what="a third of the rows")
    victim = max(ray_cluster.actor_pids(), key=cpu_ticks)  # one that is running rows
    os.kill(victim, signal.SIGKILL)
    _, err = driver.communicate(timeout=120)
    assert driver.returncode == 0, err.decode()
    assert f"(pid {victim}) died" in err.decode()
    assert f"ray {ray_cluster.address} (direct): 127.0.0.1 " in err.decode()  # per node
    rows = read_rows(out)
    assert_exactly_once_in_order(rows, N)
    assert deterministic(rows) == reference
    summary = read_summary(out)
    assert summary["this_run"]["worker_deaths"] == 1
    assert summary["this_run"]["redispatched_rows"] > 0, err.decode()


def test_kill_9_of_the_driver_then_resume_on_ray(
    ray_cluster: RayCluster, inputs: Path, sim: SpawnedSim, reference, tmp_path: Path
):
    out = tmp_path / "out.jsonl"
    driver = start_driver(inputs, out, sim, ray_cluster, *RAY, "--ray-address", ray_cluster.address)
    wait_for(lambda: journal_rows(out) >= N // 2, timeout=90, what="half the rows")
    kill(driver)
    driver.communicate()
    # Ray kills the actors of a dead driver (their owner) by itself.
    wait_for(lambda: not ray_cluster.actor_pids(), timeout=60, what="the actors to go")
    resume_on_ray_and_check(inputs, out, sim, ray_cluster, reference)


def test_a_run_started_locally_resumes_on_ray(
    ray_cluster: RayCluster, inputs: Path, sim: SpawnedSim, reference, tmp_path: Path
):
    out = tmp_path / "out.jsonl"
    driver = start_driver(inputs, out, sim, ray_cluster)  # the local backend
    wait_for(lambda: journal_rows(out) >= N // 3, timeout=60, what="a third of the rows")
    workers = worker_pids(driver.pid)
    kill(driver)
    driver.communicate()
    wait_for(lambda: not any(running(p) for p in workers), what="local workers to exit")
    resume_on_ray_and_check(inputs, out, sim, ray_cluster, reference)


def test_one_global_budget_across_four_actors_on_two_nodes(ray_cluster: RayCluster, tmp_path):
    """4 actors under --rpm 12000 (200/s) against a strict simulator: the steady seconds get
    200/s within 2 % (>= 97 % of the limit), and <= 0.5 % of the requests are answered 429."""
    inputs = write_inputs(tmp_path / "in.jsonl", 1200)
    with spawn(seed=1, rpm=12_000, limit_window_s=1) as limited:
        result = on_ray(inputs, tmp_path / "out.jsonl", ray_cluster, limited.base_url, rpm=12_000)
        stats = limited.stats()
    assert result.exit_code == 0
    per_second = stats["admitted_per_second"]
    # The burst (1 s worth) can spread over two seconds while the actors come up.
    first = next(i for i, count in enumerate(per_second) if count)
    steady = per_second[first + 2 : -1]  # whole seconds after the burst, before the tail
    assert len(steady) >= 3
    assert sum(steady) / len(steady) == pytest.approx(200, rel=0.02)  # >= 97 % of the limit
    assert stats["by_status"].get("429", 0) <= 0.005 * stats["requests_total"]
    nodes = result.summary["ray"]["nodes"]
    assert len(nodes) == 2
    assert all(node["rows"] > 0 for node in nodes)


def test_the_relay_transport_gives_the_same_rows(
    ray_cluster: RayCluster, sim: SpawnedSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Over Ray calls instead of a socket (as for ``ray://`` drivers)."""
    n = 300
    inputs = write_inputs(tmp_path / "in.jsonl", n)
    monkeypatch.setenv("FASTCREW_RAY_RELAY", "1")
    result = on_ray(inputs, tmp_path / "out.jsonl", ray_cluster, sim.base_url, workers=2)
    assert result.exit_code == 0
    assert result.summary["ray"]["transport"] == "relay"
    assert_exactly_once_in_order(read_rows(tmp_path / "out.jsonl"), n)


def cpu_ticks(pid: int) -> int:
    """CPU time a process has used so far (clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def read_summary(out: Path) -> dict[str, Any]:
    return json.loads(Path(str(out) + ".summary.json").read_text())


def test_without_an_address_a_local_ray_is_started_for_the_run_and_stopped(tmp_path: Path):
    """Ray's rule with nothing running: ``ray.init()`` starts one; it is gone after the run."""
    inputs = write_inputs(tmp_path / "in.jsonl", 50)
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # stay on 127.0.0.1
    short = tempfile.mkdtemp(prefix="fcl-", dir="/tmp")  # Ray's socket paths are short
    env["TMPDIR"] = short  # nor may it find a cluster started with `ray start`
    env["HOME"] = short  # its auth token (~/.ray/auth_token) stays out of the real home
    env.pop("RAY_AUTH_MODE", None)  # Ray's default for a local Ray
    code = (
        "from fastcrew import run_batch\n"
        f"r = run_batch({str(inputs)!r}, crew={CREW!r}, simulate=True, backend='ray', "
        f"output={str(tmp_path / 'out.jsonl')!r}, quiet=True)\n"
        "print(r.status, r.summary['workers'], r.summary['ray']['address'])\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=150
        )
    finally:
        shutil.rmtree(short, ignore_errors=True)
    assert done.returncode == 0, done.stderr
    status, workers, address = done.stdout.split()
    assert status == "complete"
    assert int(workers) == os.cpu_count()  # the local Ray's CPUs
    assert_exactly_once_in_order(read_rows(tmp_path / "out.jsonl"), 50)
    port = address.rsplit(":", 1)[1].encode()
    left = [
        p
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and b"gcs_server" in _cmdline(p) and b"port=" + port in _cmdline(p)
    ]
    assert not left  # the run's Ray was shut down with it


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


SHIPPED_CREW = """
from fastcrew import LLM, Agent, Crew, Task


def make_crew():
    agent = Agent(role="Shipped", goal="Answer about {topic}", backstory="Shipped.", llm=LLM("m"))
    task = Task(description="Tell me about {topic}", expected_output="One line.", agent=agent)
    return Crew(agents=[agent], tasks=[task])
"""


def test_a_crew_module_reaches_the_actors_through_the_runtime_env(
    ray_cluster: RayCluster, sim: SpawnedSim, tmp_path: Path
):
    """The module is on no path of the driver: only Ray's ``py_modules`` brings it."""
    package = tmp_path / "shipped" / "shipped_crew"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(SHIPPED_CREW)
    n = 40
    inputs = write_inputs(tmp_path / "in.jsonl", n)
    result = run_batch(
        inputs,
        crew="shipped_crew:make_crew",
        output=tmp_path / "out.jsonl",
        base_url=sim.base_url,
        backend="ray",
        ray_address=ray_cluster.address,
        ray_runtime_env={"py_modules": [str(package)]},
        workers=2,
        quiet=True,
    )
    assert result.exit_code == 0, result.summary
    assert_exactly_once_in_order(read_rows(tmp_path / "out.jsonl"), n)
    assert "shipped_crew" not in sys.modules


def test_one_spending_cap_across_four_actors_on_two_nodes(
    ray_cluster: RayCluster, sim: SpawnedSim, tmp_path: Path
):
    """``--max-cost`` on Ray: the actors' rows share the supervisor's one cap — the run
    stops with exit 79, the rows kept cost at most the cap (plus what was in flight), and a
    re-run with a higher cap finishes every row once, in order."""
    inputs = write_inputs(tmp_path / "in.jsonl", 400)
    out = tmp_path / "out.jsonl"
    price = ["sim-model=1/2"]
    full = on_ray(inputs, tmp_path / "full.jsonl", ray_cluster, sim.base_url, prices=price)
    assert full.exit_code == 0
    total = full.summary["cost"]["usd"]
    cap = round(total * 0.3, 6)
    capped = on_ray(
        inputs, out, ray_cluster, sim.base_url, prices=price, max_cost=cap, concurrency=10
    )
    assert capped.exit_code == 79, capped.summary
    kept = [
        json.loads(line)["row"]["usage"]["cost_usd"]
        for line in Path(f"{out}.journal").read_bytes().splitlines()
        if b'"i":' in line
    ]
    in_flight = ACTORS * 10 * max(kept)  # at most every actor's running rows
    assert 0 < sum(kept) <= cap + in_flight
    assert len(kept) < 400
    again = on_ray(inputs, out, ray_cluster, sim.base_url, prices=price, max_cost=total * 2)
    assert again.exit_code == 0
    assert_exactly_once_in_order(read_rows(out), 400)
