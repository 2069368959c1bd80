"""Two real processes, one after the other, on one vector file: the second embeds nothing."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from .fake_server import FakeEmbeddings

CHILD = str(Path(__file__).with_name("embed_child.py"))
N = 3000


async def run_child(origin: str, db: Path) -> dict[str, int]:
    child = await asyncio.create_subprocess_exec(
        sys.executable, CHILD, origin, str(db), str(N),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(child.communicate(), timeout=100)
    assert child.returncode == 0, err.decode()
    return json.loads(out)


async def test_a_second_process_embeds_nothing(fake: FakeEmbeddings, tmp_path: Path) -> None:
    db = tmp_path / "shared" / "vectors.sqlite"
    first = await run_child(fake.url, db)
    assert first == {"vectors": N, "requests": 2, "embedded": N, "stored": 0}
    assert fake.requests == 2
    second = await run_child(fake.url, db)
    assert second == {"vectors": N, "requests": 0, "embedded": 0, "stored": N}
    assert fake.requests == 2
    assert sum(fake.inputs) == N


async def test_two_processes_at_once_then_a_third(fake: FakeEmbeddings, tmp_path: Path) -> None:
    db = tmp_path / "vectors.sqlite"
    both = await asyncio.gather(run_child(fake.url, db), run_child(fake.url, db))
    assert all(r["vectors"] == N for r in both)
    sent = fake.requests  # each may have embedded some before the other's were written
    third = await run_child(fake.url, db)
    assert third["stored"] == N
    assert fake.requests == sent
