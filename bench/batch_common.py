"""Shared pieces of the batch benchmarks: inputs, a one-task crew, process sampling."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fastcrew import LLM, Agent, Crew, Task

RESEARCH_CREW = str(Path(__file__).parents[1] / "examples" / "research_crew.py") + ":make_crew"
ONE_TASK_CREW = f"{__file__}:one_task_crew"


def one_task_crew() -> Crew:
    """One agent, one task, one LLM call per row (from the worker's environment)."""
    agent = Agent(role="Echo", goal="Answer about {topic}", backstory="A bench agent.", llm=LLM())
    task = Task(description="Tell me about {topic}", expected_output="One line.", agent=agent)
    return Crew(agents=[agent], tasks=[task])


def write_topics(path: Path, n: int) -> Path:
    """``n`` rows ``{"id": ..., "topic": ...}`` (written once, reused)."""
    if not path.exists() or sum(1 for _ in path.open("rb")) != n:
        with path.open("w") as f:
            for i in range(n):
                f.write(json.dumps({"id": f"r{i}", "topic": f"topic number {i}"}) + "\n")
    return path


def write_openai_lines(path: Path, n: int, max_tokens: int = 16) -> Path:
    """``n`` OpenAI Batch-API chat requests."""
    with path.open("w") as f:
        for i in range(n):
            body = {
                "model": "gpt-4o-mini",
                "max_tokens": max_tokens,
                "messages": [{"role": "user", "content": f"backfill row {i}: summarise it"}],
            }
            line = {"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions"}
            f.write(json.dumps({**line, "body": body}) + "\n")
    return path


def children_cpu() -> float:
    """CPU seconds of this process's reaped children (the batch workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of ``pid`` in KiB (0, 0 when it is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0, 0
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    if "VmRSS" not in fields:  # a zombie
        return 0, 0
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def batch_workers(pid: int) -> list[int]:
    """The batch workers among ``pid``'s children."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                if b"fastcrew.batch.worker" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(int(child))
            except FileNotFoundError:
                pass
    return found


def run_cli_sampled(args: list[str], out: Path, every: float = 0.5) -> dict[str, Any]:
    """Run ``fastcrew batch`` as a child; sample supervisor and worker RSS while it runs."""
    process = subprocess.Popen(
        [sys.executable, "-m", "fastcrew", "batch", *args, "-o", str(out), "--no-progress", "-q"],
        env={**os.environ},
    )
    samples: list[dict[str, Any]] = []
    journal = Path(str(out) + ".journal")
    started = time.monotonic()
    peaks: dict[int, int] = {}
    try:
        _sample(process, journal, started, samples, peaks, every)
    finally:
        if process.poll() is None:  # the bench failed or timed out: do not leave it running
            process.kill()
            process.wait()
    return {
        "returncode": process.returncode,
        "elapsed_s": round(time.monotonic() - started, 2),
        "samples": samples,
        "worker_peak_mib": [round(v / 1024, 1) for v in peaks.values()],
    }


def _sample(
    process: subprocess.Popen[bytes],
    journal: Path,
    started: float,
    samples: list[dict[str, Any]],
    peaks: dict[int, int],
    every: float,
) -> None:
    while process.poll() is None:
        time.sleep(every)
        sup = rss_kib(process.pid)
        if sup == (0, 0):
            continue
        workers = {w: rss_kib(w) for w in batch_workers(process.pid)}
        for w, (_, hwm) in workers.items():
            peaks[w] = max(peaks.get(w, 0), hwm)
        try:
            rows = sum(1 for _ in journal.open("rb")) - 1
        except FileNotFoundError:
            rows = 0
        samples.append(
            {
                "t": round(time.monotonic() - started, 1),
                "rows": rows,
                "supervisor_rss_mib": round(sup[0] / 1024, 1),
                "supervisor_hwm_mib": round(sup[1] / 1024, 1),
                "workers_rss_mib": [round(r / 1024, 1) for r, _ in workers.values()],
            }
        )
