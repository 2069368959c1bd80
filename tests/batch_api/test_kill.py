"""kill -9 of the round machinery (tests/batch_api/chain.py as a subprocess) during the
upload, the create, the polling and the download; the re-run resumes the same jobs and no
request is ever in two batches."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from .fake_openai import FakeOpenAI

CHAIN = str(Path(__file__).with_name("chain.py"))
ROWS, STEPS = 30, 2


async def _chain(fake: FakeOpenAI, base: Path, out: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, CHAIN, fake.base_url, str(base), str(ROWS), str(STEPS), str(out)
    )


@pytest.mark.parametrize(
    ("step", "nth"),
    [("upload", 1), ("create", 1), ("create", 2), ("retrieve", 1), ("content", 1),
     ("content", 2)],
)  # fmt: skip
async def test_kill_9_then_resume_pays_each_request_once(
    tmp_path: Path, step: str, nth: int
) -> None:
    fake = await FakeOpenAI(polls=2).start()
    base, out = tmp_path / "o.batchapi", tmp_path / "out.json"
    try:
        fake.hold = {step: nth}
        first = await _chain(fake, base, out)
        try:
            await fake.wait_seen(step, nth)
        finally:
            first.kill()
            async with asyncio.timeout(10):
                await first.wait()
        assert first.returncode == -9
        assert not out.exists()
        fake.hold = {}
        created = len(fake.batches)
        again = await _chain(fake, base, out)
        async with asyncio.timeout(60):
            assert await again.wait() == 0
    finally:
        await fake.close()
    result = json.loads(out.read_text())
    assert len(fake.batches) == STEPS  # one batch per step, none created twice
    assert len(fake.submitted) == ROWS * STEPS
    assert set(fake.submitted.values()) == {1}
    assert all(text.startswith("answer to: row") for text in result["answers"].values())
    summary = result["summary"]
    if step == "create":  # the batch whose create was cut is found by its token
        assert created == nth
        assert fake.seen["list"] >= 1
        assert summary["resumed_jobs"] == 1
    if nth == 2:  # the first step's answers come from the store
        assert summary["store_hits"] == ROWS
