"""The Files/Batch client against `fastcrew sim` and the independent fake."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from fastcrew.errors import LLMError
from fastcrew.llm.batch_api import FINAL_STATES, BatchAPI
from fastcrew.sim import serve

from .fake_openai import FakeOpenAI


def _requests(path: Path, n: int) -> Path:
    lines = [
        {"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"q{i}"}]}}
        for i in range(n)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


async def _round_trip(api: BatchAPI, path: Path) -> tuple[dict, list[dict]]:
    data = await asyncio.to_thread(path.read_bytes)
    file = await api.upload(str(path))
    assert file["object"] == "file"
    assert file["purpose"] == "batch"
    assert file["bytes"] == len(data)
    batch = await api.create_batch(file["id"], metadata={"fastcrew_round": "t-1"})
    assert batch["metadata"] == {"fastcrew_round": "t-1"}
    for _ in range(100):
        batch = await api.batch(batch["id"])
        if batch["status"] in FINAL_STATES:
            break
    listed = [b async for b in api.batches(limit=1)]
    assert batch["id"] in {b["id"] for b in listed}
    lines = [json.loads(line) async for line in api.lines(batch["output_file_id"])]
    return batch, lines


async def test_round_trip_on_the_simulator(tmp_path: Path) -> None:
    async with serve(batch_delay=0) as sim:
        api = BatchAPI(sim.base_url, None)
        batch, lines = await _round_trip(api, _requests(tmp_path / "in.jsonl", 300))
        assert batch["status"] == "completed"
        assert batch["request_counts"] == {"total": 300, "completed": 300, "failed": 0}
        assert [line["custom_id"] for line in lines] == [f"r{i}" for i in range(300)]
        assert all(line["response"]["status_code"] == 200 for line in lines)
        assert "q7" in lines[7]["response"]["body"]["choices"][0]["message"]["content"]
        assert sim.stats()["batch"]["batches_created"] == 1


async def test_round_trip_on_the_fake(tmp_path: Path) -> None:
    fake = await FakeOpenAI(polls=3).start()
    try:
        api = BatchAPI(fake.base_url, "sk-x")
        batch, lines = await _round_trip(api, _requests(tmp_path / "in.jsonl", 50))
        assert batch["status"] == "completed"
        assert fake.seen["retrieve"] == 3
        assert [line["custom_id"] for line in lines] == [f"r{i}" for i in range(50)]
    finally:
        await fake.close()


async def test_lines_stream_a_large_file(tmp_path: Path) -> None:
    """A 20 MB output arrives line by line, each line whole."""
    async with serve(batch_delay=0, completion_tokens=2000) as sim:
        api = BatchAPI(sim.base_url, None)
        batch, lines = await _round_trip(api, _requests(tmp_path / "in.jsonl", 2000))
        assert len(lines) == 2000
        assert batch["status"] == "completed"


async def test_errors_are_llm_errors(sim) -> None:
    api = BatchAPI(sim.base_url, None)
    with pytest.raises(LLMError) as caught:
        await api.batch("batch_nope")
    assert caught.value.status == 404
    assert not caught.value.retryable
