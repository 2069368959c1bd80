"""Image and document content parts on Anthropic's Messages wire.

OpenAI's ``image_url`` and ``file`` parts become ``image`` and ``document`` blocks, Anthropic's
own blocks go as given, and any other part type is refused before anything is sent. The last
tests send them to the simulator through a recording proxy on 127.0.0.1, so the body checked is
the one the simulator received.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from loopback import start_app

from fastcrew import LLM, errors
from fastcrew._json import dumps, loads
from fastcrew.llm.anthropic import to_messages_body
from fastcrew.sim import serve

KEY = "sk-ant-sim-key-000000000000"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(24)).decode()
PDF = base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode()
IMAGE_DATA = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
IMAGE_WEB = {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
PDF_FILE = {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{PDF}",
                                     "filename": "report.pdf"}}  # fmt: skip
IMAGE_BLOCK = {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                           "data": PNG}}  # fmt: skip
WEB_BLOCK = {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}
PDF_BLOCK = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                            "data": PDF}}  # fmt: skip


def translated(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Messages body's ``messages`` for these OpenAI messages."""
    body = dumps({"model": "claude-sonnet-4-5", "messages": messages})
    out: list[dict[str, Any]] = loads(to_messages_body(body))["messages"]
    return out


def blocks(*parts: Any) -> list[dict[str, Any]]:
    """The blocks of one user message made of these content parts."""
    [message] = translated([{"role": "user", "content": list(parts)}])
    assert message["role"] == "user"
    content: list[dict[str, Any]] = message["content"]
    return content


def test_a_base64_data_url_becomes_a_base64_image() -> None:
    assert blocks({"type": "text", "text": "What is this?"}, IMAGE_DATA) == [
        {"type": "text", "text": "What is this?"},
        IMAGE_BLOCK,
    ]


def test_a_web_address_becomes_a_url_image() -> None:
    bare = {"type": "image_url", "image_url": "https://example.com/cat.jpg"}  # string form
    detail = {"type": "image_url", "image_url": {**IMAGE_WEB["image_url"], "detail": "low"}}
    assert blocks(IMAGE_WEB, bare, detail) == [WEB_BLOCK] * 3


def test_a_pdf_file_part_becomes_a_document() -> None:
    assert blocks(PDF_FILE) == [PDF_BLOCK]


def test_anthropics_own_blocks_pass_unchanged() -> None:
    cached = {**PDF_BLOCK, "title": "Report", "cache_control": {"type": "ephemeral"}}
    assert blocks(IMAGE_BLOCK, WEB_BLOCK, cached) == [IMAGE_BLOCK, WEB_BLOCK, cached]


def test_text_and_refusal_parts_become_text() -> None:
    assistant = {"role": "assistant", "content": [{"type": "refusal", "refusal": "No."}]}
    user = {"role": "user", "content": [{"type": "text", "text": "Why?"}, IMAGE_WEB]}
    assert translated([user, assistant, user]) == [
        {"role": "user", "content": [{"type": "text", "text": "Why?"}, WEB_BLOCK]},
        {"role": "assistant", "content": [{"type": "text", "text": "No."}]},
        {"role": "user", "content": [{"type": "text", "text": "Why?"}, WEB_BLOCK]},
    ]


def test_images_in_consecutive_user_messages_share_one_turn() -> None:
    parts = [{"role": "user", "content": [IMAGE_DATA]}, {"role": "user", "content": "and?"}]
    assert translated(parts) == [
        {"role": "user", "content": [IMAGE_BLOCK, {"type": "text", "text": "and?"}]}
    ]


@pytest.mark.parametrize(
    ("part", "named"),
    [
        ({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}, "input_audio"),
        ({"type": "video_url", "video_url": {"url": "https://example.com/v.mp4"}}, "video_url"),
        ({"text": "no type"}, "None"),
        ("a bare string", "str"),
    ],
)
def test_an_unknown_part_type_is_refused_by_name(part: Any, named: str) -> None:
    with pytest.raises(errors.BadRequestError, match=f"type '?{named}'?") as info:
        blocks({"type": "text", "text": "x"}, part)
    assert isinstance(info.value, errors.LLMError)
    assert not info.value.retryable


@pytest.mark.parametrize(
    ("part", "why"),
    [
        ({"type": "image_url", "image_url": {"url": "data:image/png,rawbytes"}}, "base64"),
        ({"type": "image_url", "image_url": {"url": "data:;base64,AAAA"}}, "media type"),
        ({"type": "image_url", "image_url": {}}, "image_url.url"),
        ({"type": "file", "file": {"file_id": "file-abc123"}}, "file_data"),
        ({"type": "file", "file": {"file_data": PDF, "filename": "x.pdf"}}, "data: URL"),
    ],
)
def test_unusable_images_and_files_are_refused(part: dict[str, Any], why: str) -> None:
    with pytest.raises(errors.BadRequestError, match=why):
        blocks(part)


class Recorder:
    """A proxy in front of the simulator's ``/v1/messages``: keeps each body it forwards."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.bodies: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        data = await request.read()
        self.bodies.append(loads(data))
        names = ("x-api-key", "anthropic-version", "content-type")
        headers = {k: request.headers[k] for k in names if k in request.headers}
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.target, data=data, headers=headers) as resp,
        ):
            body = await resp.read()
        return web.Response(status=resp.status, body=body, content_type="application/json")


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[Recorder, str]]:
    async with serve(api_key=KEY) as sim:
        proxy = Recorder(sim.base_url + "/messages")
        app = web.Application()
        app.router.add_post("/v1/messages", proxy.handle)
        runner, origin = await start_app(app)
        try:
            yield proxy, origin
        finally:
            await runner.cleanup()


async def test_the_simulator_accepts_images_and_documents(
    recorder: tuple[Recorder, str],
) -> None:
    proxy, origin = recorder
    llm = LLM("anthropic/claude-sonnet-4-5", base_url=origin, api_key=KEY)
    question = {"type": "text", "text": "Compare these."}
    content = [question, IMAGE_DATA, IMAGE_WEB, PDF_FILE, IMAGE_BLOCK]
    answer = await llm.achat([{"role": "user", "content": content}])
    assert answer.content
    assert answer.finish_reason == "stop"
    [sent] = proxy.bodies
    assert sent["messages"] == [
        {"role": "user", "content": [question, IMAGE_BLOCK, WEB_BLOCK, PDF_BLOCK, IMAGE_BLOCK]}
    ]


async def test_an_unknown_part_is_refused_before_sending(recorder: tuple[Recorder, str]) -> None:
    proxy, origin = recorder
    llm = LLM("anthropic/claude-sonnet-4-5", base_url=origin, api_key=KEY)
    audio = {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}
    with pytest.raises(errors.BadRequestError, match="input_audio") as info:
        await llm.achat([{"role": "user", "content": [audio]}])
    assert info.value.attempts is None  # refused before the limiter: no attempt made
    assert proxy.bodies == []
    assert llm.limiter().stats.admitted == 0
