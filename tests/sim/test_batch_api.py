"""The Files and Batch APIs of ``fastcrew sim``, driven by the official ``openai`` SDK.

Time is a clock the tests move by hand (``serve(clock=...)``), or ``batch_delay=0``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Final

import openai
import pytest
from click.testing import CliRunner
from openai.types import Batch, FileObject

import fastcrew.sim
from fastcrew.cli import main
from fastcrew.sim import SimConfig, Simulator, serve

KEY = "sim-not-a-real-key"
URL: Final = "/v1/chat/completions"
TERMINAL = ("completed", "failed", "expired", "cancelled")
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


class Clock:
    """A Unix clock the test moves."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def sdk(**options: Any) -> AsyncIterator[tuple[Simulator, openai.AsyncOpenAI]]:
    """A simulator with these options and an SDK client pointed at it."""
    async with serve(**options) as sim:
        client = openai.AsyncOpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0)
        async with client:
            yield sim, client


def line(custom_id: str, text: str, **body: Any) -> dict[str, Any]:
    """One batch input line: a chat request with one user message."""
    request = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **body}
    return {"custom_id": custom_id, "method": "POST", "url": URL, "body": request}


def jsonl(items: list[Any]) -> bytes:
    return b"".join(
        (item if isinstance(item, bytes) else json.dumps(item).encode()) + b"\n" for item in items
    )


async def upload(client: openai.AsyncOpenAI, items: list[Any], name: str = "in.jsonl") -> str:
    created = await client.files.create(file=(name, jsonl(items)), purpose="batch")
    return created.id


async def submit(client: openai.AsyncOpenAI, items: list[Any], **extra: Any) -> Batch:
    file_id = await upload(client, items)
    return await client.batches.create(
        input_file_id=file_id, endpoint=URL, completion_window="24h", **extra
    )


async def finished(client: openai.AsyncOpenAI, batch_id: str) -> Batch:
    """Poll until the batch is final (bounded: a sync point, not a timing check)."""
    async with asyncio.timeout(5.0):
        while True:
            batch = await client.batches.retrieve(batch_id)
            if batch.status in TERMINAL:
                return batch


async def lines_of(client: openai.AsyncOpenAI, file_id: str | None) -> list[dict[str, Any]]:
    assert file_id is not None
    content = await client.files.content(file_id)
    text = content.text
    assert text.endswith("\n")
    return [json.loads(row) for row in text.splitlines()]


def check_result_line(row: dict[str, Any], status: int) -> dict[str, Any]:
    """OpenAI's output / error line of an executed request; returns the response body."""
    assert list(row) == ["id", "custom_id", "response", "error"]
    assert row["id"].startswith("batch_req_")
    assert len(row["id"]) == len("batch_req_") + 32
    assert row["error"] is None
    response = row["response"]
    assert list(response) == ["status_code", "request_id", "body"]
    assert response["status_code"] == status
    assert len(response["request_id"]) == 32
    return response["body"]


def without_created(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "created"}


async def test_batch_answers_equal_the_chat_endpoint() -> None:
    items = [
        line("plain", "Hello there"),
        line(
            "json",
            "Return JSON with the keys: title, score.",
            response_format={"type": "json_object"},
        ),
        line("tools", "weather in Oslo", tools=[WEATHER], tool_choice="required"),
        line("two", "pick one", n=2, max_tokens=5),
    ]
    async with sdk(batch_delay=0) as (_sim, client):
        batch = await submit(client, items, metadata={"run": "one"})
        assert batch.status == "validating"
        assert batch.object == "batch"
        assert batch.id.startswith("batch_")
        assert (batch.endpoint, batch.completion_window) == (URL, "24h")
        assert batch.metadata == {"run": "one"}
        assert batch.expires_at == batch.created_at + 24 * 3600
        done = await client.batches.retrieve(batch.id)  # delay 0: final at the first look
        assert done.status == "completed"
        assert done.request_counts is not None
        assert done.request_counts.model_dump() == {"total": 4, "completed": 4, "failed": 0}
        assert done.error_file_id is None
        assert done.errors is None
        stamps = (done.in_progress_at, done.finalizing_at, done.completed_at)
        assert stamps == (done.created_at,) * 3
        assert (done.failed_at, done.expired_at, done.cancelled_at) == (None, None, None)
        assert done.model == "gpt-4o-mini"
        rows = await lines_of(client, done.output_file_id)
        assert [row["custom_id"] for row in rows] == ["plain", "json", "tools", "two"]
        prompt = completion = 0
        for row, item in zip(rows, items, strict=True):
            body = check_result_line(row, 200)
            raw = await client.chat.completions.with_raw_response.create(**item["body"])
            direct = json.loads(raw.http_response.text)
            assert without_created(body) == without_created(direct)
            prompt += body["usage"]["prompt_tokens"]
            completion += body["usage"]["completion_tokens"]
        assert rows[2]["response"]["body"]["choices"][0]["finish_reason"] == "tool_calls"
        assert len(rows[3]["response"]["body"]["choices"]) == 2
        assert done.usage is not None
        assert (done.usage.input_tokens, done.usage.output_tokens) == (prompt, completion)
        assert done.usage.total_tokens == prompt + completion
        output = await client.files.retrieve(done.output_file_id or "")
        assert output.purpose == "batch_output"
        assert output.filename == f"{batch.id}_output.jsonl"


async def test_wire_keys_match_the_sdk_models() -> None:
    async with sdk(batch_delay=0) as (_sim, client):
        raw_file = await client.files.with_raw_response.create(
            file=("in.jsonl", jsonl([line("a", "hi")])), purpose="batch"
        )
        file_json = json.loads(raw_file.http_response.text)
        assert set(file_json) == set(FileObject.model_fields)
        assert file_json["status"] == "processed"
        assert file_json["bytes"] > 0
        raw = await client.batches.with_raw_response.create(
            input_file_id=file_json["id"], endpoint=URL, completion_window="24h"
        )
        batch_json = json.loads(raw.http_response.text)
        assert set(batch_json) == set(Batch.model_fields)
        assert batch_json["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
        listed = await client.batches.with_raw_response.list()
        page = json.loads(listed.http_response.text)
        assert list(page) == ["object", "data", "first_id", "last_id", "has_more"]
        assert page["object"] == "list"
        assert page["first_id"] == batch_json["id"]


async def test_the_timeline_follows_the_clock() -> None:
    clock = Clock()
    start = int(clock.now)
    items = [line(f"r{i}", f"question {i}") for i in range(8)]
    async with sdk(batch_delay=10, clock=clock) as (sim, client):
        batch = await submit(client, items)
        for at, status, completed in [
            (0.5, "validating", 0),
            (1.0, "in_progress", 0),
            (5.0, "in_progress", 4),  # half of in_progress (1 s .. 9 s): half the requests
            (9.0, "finalizing", 8),
            (10.0, "completed", 8),
        ]:
            clock.now = start + at
            got = await client.batches.retrieve(batch.id)
            assert got.request_counts is not None
            assert (got.status, got.request_counts.completed) == (status, completed)
        assert got.in_progress_at == start + 1
        assert got.finalizing_at == start + 9
        assert got.completed_at == start + 10
        clock.now += 1000  # the final state is frozen
        assert (await client.batches.retrieve(batch.id)).model_dump() == got.model_dump()
        assert sim.stats()["batch"]["batches_by_status"] == {"completed": 1}


async def test_cancel_keeps_the_finished_requests() -> None:
    clock = Clock()
    start = clock.now
    items = [line(f"r{i}", f"question {i}") for i in range(8)]
    async with sdk(batch_delay=10, clock=clock) as (_sim, client):
        batch = await submit(client, items)
        clock.now = start + 5
        cancelling = await client.batches.cancel(batch.id)
        assert cancelling.status == "cancelling"
        assert cancelling.cancelling_at == int(start + 5)
        assert (await client.batches.cancel(batch.id)).status == "cancelling"  # idempotent
        clock.now = start + 5.5
        assert (await client.batches.retrieve(batch.id)).status == "cancelling"
        clock.now = start + 6
        cancelled = await client.batches.retrieve(batch.id)
        assert cancelled.status == "cancelled"
        assert cancelled.cancelled_at == int(start + 6)
        assert cancelled.completed_at is None
        assert cancelled.request_counts is not None
        assert cancelled.request_counts.model_dump() == {"total": 8, "completed": 4, "failed": 4}
        done = await lines_of(client, cancelled.output_file_id)
        assert [row["custom_id"] for row in done] == ["r0", "r1", "r2", "r3"]
        skipped = await lines_of(client, cancelled.error_file_id)
        assert [row["custom_id"] for row in skipped] == ["r4", "r5", "r6", "r7"]
        for row in skipped:
            assert row["response"] is None
            assert row["error"]["code"] == "batch_cancelled"
        with pytest.raises(openai.ConflictError, match="status 'cancelled'"):
            await client.batches.cancel(batch.id)
        with pytest.raises(openai.NotFoundError):
            await client.batches.cancel("batch_nope")


async def test_list_pagination() -> None:
    async with sdk(batch_delay=0) as (_sim, client):
        ids = [(await submit(client, [line("a", f"batch {i}")])).id for i in range(5)]
        newest_first = ids[::-1]
        first = await client.batches.list(limit=2)
        assert [b.id for b in first.data] == newest_first[:2]
        assert first.has_more is True
        last = await client.batches.list(limit=2, after=newest_first[3])
        assert [b.id for b in last.data] == newest_first[4:]
        assert last.has_more is False
        assert [b.id async for b in client.batches.list(limit=2)] == newest_first
        assert all(b.status == "completed" for b in first.data)
        with pytest.raises(openai.BadRequestError):
            await client.batches.list(limit=101)
        inputs = await client.files.list(purpose="batch", limit=3)
        assert len(inputs.data) == 3
        assert inputs.has_more is True
        assert all(f.purpose == "batch" for f in inputs.data)
        every = [f.id async for f in client.files.list(purpose="batch", limit=3)]
        assert len(every) == len(set(every)) == 5
        outputs = [f async for f in client.files.list(purpose="batch_output")]
        assert len(outputs) == 5  # the five batches' output files


async def test_files_crud() -> None:
    async with sdk() as (sim, client):
        data = jsonl([line("a", "hi")])
        created = await client.files.create(file=("mine.jsonl", data), purpose="batch")
        assert created.id.startswith("file-")
        assert created.filename == "mine.jsonl"
        assert (created.bytes, created.object, created.purpose) == (len(data), "file", "batch")
        assert created.expires_at == created.created_at + 30 * 24 * 3600
        assert (await client.files.retrieve(created.id)).model_dump() == created.model_dump()
        assert (await client.files.content(created.id)).content == data
        other = await client.files.create(file=("notes.txt", b"free text"), purpose="user_data")
        assert other.expires_at is None
        assert [f.id async for f in client.files.list()] == [other.id, created.id]
        deleted = await client.files.delete(created.id)
        assert (deleted.id, deleted.deleted, deleted.object) == (created.id, True, "file")
        with pytest.raises(openai.NotFoundError, match=f"No such File object: {created.id}"):
            await client.files.retrieve(created.id)
        with pytest.raises(openai.NotFoundError):
            await client.files.content(created.id)
        with pytest.raises(openai.BadRequestError, match=r"Must be \.jsonl"):
            await client.files.create(file=("in.csv", data), purpose="batch")
        with pytest.raises(openai.BadRequestError, match="purpose"):
            await client.files.create(file=("in.jsonl", data), purpose="nope")  # type: ignore[arg-type]
        assert sim.stats()["batch"]["files"] == 1


async def test_an_invalid_input_file_fails_the_batch() -> None:
    bad_url = {**line("c", "x"), "url": "/v1/embeddings"}
    no_body = {k: v for k, v in line("d", "x").items() if k != "body"}
    get = {**line("e", "x"), "method": "GET"}
    other_model = line("f", "x", model="gpt-4o")
    items: list[Any] = [line("a", "x"), b"{not json", bad_url, no_body, get, other_model]
    async with sdk(batch_delay=0) as (sim, client):
        batch = await finished(client, (await submit(client, items)).id)
        assert batch.status == "failed"
        assert batch.failed_at == batch.created_at
        assert batch.in_progress_at is None
        assert batch.output_file_id is None
        assert batch.error_file_id is None
        assert batch.errors is not None
        assert batch.errors.object == "list"
        got = [(e.code, e.line, e.param) for e in batch.errors.data or []]
        assert got == [
            ("invalid_json_line", 2, None),
            ("url_mismatch", 3, "url"),
            ("missing_required_parameter", 4, "body"),
            ("invalid_method", 5, "method"),
            ("model_mismatch", 6, "body.model"),
        ]
        empty = await finished(client, (await submit(client, [])).id)
        assert empty.status == "failed"
        assert [(e.code, e.line) for e in empty.errors.data or []] == [("empty_file", None)]  # type: ignore[union-attr]
        assert sim.stats()["batch"]["batches_finished"]["failed"] == 2


async def test_duplicate_custom_ids_are_refused() -> None:
    items = [line("same", "one"), line("other", "two"), line("same", "three")]
    async with sdk(batch_delay=0) as (_sim, client):
        batch = await finished(client, (await submit(client, items)).id)
        assert batch.status == "failed"
        assert batch.errors is not None
        errors = batch.errors.data or []
        assert [(e.code, e.line, e.param) for e in errors] == [
            ("duplicate_custom_id", 3, "custom_id")
        ]
        assert "must be unique" in (errors[0].message or "")


async def test_limits() -> None:
    async with sdk(batch_delay=0, batch_max_requests=3, file_max_bytes=600) as (_sim, client):
        batch = await finished(
            client, (await submit(client, [line(str(i), "q") for i in range(4)])).id
        )
        assert batch.errors is not None
        assert [e.code for e in batch.errors.data or []] == ["too_many_tasks"]
        assert (await finished(client, (await submit(client, [line("1", "q")] * 1)).id)).status == (
            "completed"
        )
        with pytest.raises(openai.BadRequestError, match="too large") as caught:
            await client.files.create(file=("big.jsonl", b"x" * 601), purpose="batch")
        assert caught.value.status_code == 400
    async with sdk(file_store_bytes=100) as (_sim, client):
        await client.files.create(file=("a.txt", b"x" * 60), purpose="user_data")
        with pytest.raises(openai.BadRequestError, match="storage is full"):
            await client.files.create(file=("b.txt", b"x" * 60), purpose="user_data")


async def test_fail_rate_puts_lines_in_the_error_file() -> None:
    items = [line(f"r{i}", f"question {i}") for i in range(40)]
    failed_ids: list[set[str]] = []
    for _ in range(2):  # same seed, same first batch: the same lines fail
        async with sdk(batch_delay=0, batch_fail_rate=0.5, seed=7) as (_sim, client):
            batch = await finished(client, (await submit(client, items)).id)
            assert batch.status == "completed"
            assert batch.request_counts is not None
            counts = batch.request_counts
            assert counts.total == 40
            assert counts.completed + counts.failed == 40
            assert 5 < counts.failed < 35
            errors = await lines_of(client, batch.error_file_id)
            for row in errors:
                body = check_result_line(row, 500)
                assert body["error"]["type"] == "server_error"
            ok = await lines_of(client, batch.output_file_id)
            assert len(ok) == counts.completed
            assert len(errors) == counts.failed
            assert {r["custom_id"] for r in ok} | {r["custom_id"] for r in errors} == {
                item["custom_id"] for item in items
            }
            failed_ids.append({row["custom_id"] for row in errors})
            again = await finished(client, (await submit(client, items)).id)
            assert again.request_counts is not None
            retried = {r["custom_id"] for r in await lines_of(client, again.error_file_id)}
            assert retried != failed_ids[-1]  # the next batch is a new draw
    assert failed_ids[0] == failed_ids[1]


async def test_a_bad_request_line_gets_a_400_in_the_error_file() -> None:
    broken = line("broken", "x")
    broken["body"]["messages"] = []
    async with sdk(batch_delay=0) as (_sim, client):
        batch = await finished(client, (await submit(client, [line("ok", "fine"), broken])).id)
        assert batch.status == "completed"
        assert batch.request_counts is not None
        assert (batch.request_counts.completed, batch.request_counts.failed) == (1, 1)
        [row] = await lines_of(client, batch.error_file_id)
        body = check_result_line(row, 400)
        assert body["error"]["type"] == "invalid_request_error"
        assert body["error"]["param"] == "messages"


async def test_expired_and_rejected_batches() -> None:
    clock = Clock()
    items = [line(f"r{i}", f"question {i}") for i in range(10)]
    async with sdk(batch_delay=10, batch_expire_rate=1.0, clock=clock) as (_sim, client):
        batch = await submit(client, items)
        clock.now += 10
        expired = await client.batches.retrieve(batch.id)
        assert expired.status == "expired"
        assert expired.expired_at == batch.created_at + 10
        assert expired.completed_at is None
        assert expired.request_counts is not None
        done, skipped = expired.request_counts.completed, expired.request_counts.failed
        assert done + skipped == 10
        assert skipped >= 1
        rows = await lines_of(client, expired.error_file_id)
        assert [r["error"]["code"] for r in rows] == ["batch_expired"] * skipped
        assert all(r["response"] is None for r in rows)
        assert rows[0]["error"]["message"].startswith("This request could not be executed")
    async with sdk(batch_delay=0, batch_reject_rate=1.0) as (_sim, client):
        rejected = await finished(client, (await submit(client, items)).id)
        assert rejected.status == "failed"
        assert rejected.errors is not None
        assert [e.code for e in rejected.errors.data or []] == ["token_limit_exceeded"]


async def test_batches_are_counted_but_not_rate_limited() -> None:
    items = [line(f"r{i}", f"question {i}") for i in range(5)]
    async with sdk(batch_delay=0, rpm=2, tpm=100_000) as (sim, client):
        batch = await finished(client, (await submit(client, items)).id)
        assert batch.status == "completed"
        for i in range(2):  # the batch took nothing from the RPM bucket
            await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"chat {i}"}]
            )
        with pytest.raises(openai.RateLimitError):
            await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "third"}]
            )
        stats = sim.stats()
        assert stats["requests_total"] == 3
        assert stats["admitted"] == 2
        counted = stats["batch"]
        assert batch.usage is not None
        assert counted == {
            "files_uploaded": 1,
            "file_bytes_uploaded": len(jsonl(items)),
            "batches_created": 1,
            "batches_finished": {"completed": 1, "failed": 0, "expired": 0, "cancelled": 0},
            "requests_completed": 5,
            "requests_failed": 0,
            "prompt_tokens": batch.usage.input_tokens,
            "completion_tokens": batch.usage.output_tokens,
            "files": 2,
            "batches_by_status": {"completed": 1},
        }
        sim.reset_stats()
        assert sim.stats()["batch"]["batches_created"] == 0
        assert sim.stats()["batch"]["files"] == 2  # live state survives a reset


async def test_create_is_checked() -> None:
    async with sdk(api_key=KEY) as (sim, client):
        file_id = await upload(client, [line("a", "x")])
        notes = await client.files.create(file=("n.txt", b"x"), purpose="user_data")
        create: Callable[..., Any] = client.batches.create
        with pytest.raises(openai.NotFoundError, match="No such File object"):
            await create(input_file_id="file-nope", endpoint=URL, completion_window="24h")
        with pytest.raises(openai.BadRequestError, match="purpose 'batch'"):
            await create(input_file_id=notes.id, endpoint=URL, completion_window="24h")
        with pytest.raises(openai.BadRequestError, match="endpoint"):
            await create(input_file_id=file_id, endpoint="/v1/embeddings", completion_window="24h")
        with pytest.raises(openai.BadRequestError, match="completion_window"):
            await create(input_file_id=file_id, endpoint=URL, completion_window="1h")
        with pytest.raises(openai.BadRequestError, match="metadata"):
            await create(
                input_file_id=file_id,
                endpoint=URL,
                completion_window="24h",
                metadata={f"k{i}": "v" for i in range(17)},
            )
        anonymous = openai.AsyncOpenAI(base_url=sim.base_url, api_key="wrong", max_retries=0)
        async with anonymous:
            with pytest.raises(openai.AuthenticationError):
                await anonymous.files.list()
            with pytest.raises(openai.AuthenticationError):
                await anonymous.batches.list()


def test_the_batch_options_are_sim_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[SimConfig] = []
    monkeypatch.setattr(fastcrew.sim, "run", lambda config, loop: runs.append(config))
    args = ["--batch-delay", "0.5", "--batch-fail-rate", "0.1", "--batch-expire-rate", "0.2"]
    args += ["--batch-reject-rate", "0.3", "--batch-max-requests", "7"]
    args += ["--file-max-bytes", "1000", "--file-store-bytes", "5000"]
    result = CliRunner().invoke(main, ["sim", *args])
    assert result.exit_code == 0, result.output
    assert runs == [
        SimConfig(
            port=8000,
            batch_delay=0.5,
            batch_fail_rate=0.1,
            batch_expire_rate=0.2,
            batch_reject_rate=0.3,
            batch_max_requests=7,
            file_max_bytes=1000,
            file_store_bytes=5000,
        )
    ]
    assert SimConfig(batch_delay=0, batch_fail_rate=1).to_cli_args() == [
        "--batch-delay",
        "0",
        "--batch-fail-rate",
        "1",
    ]
    for bad in (["--batch-delay", "-1"], ["--batch-fail-rate", "2"], ["--file-max-bytes", "0"]):
        assert CliRunner().invoke(main, ["sim", *bad]).exit_code == 2
