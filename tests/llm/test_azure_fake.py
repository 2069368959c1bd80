"""``LLM("azure/...")`` against an independent fake of Azure OpenAI's wire.

The fake is written from Azure's documented formats (chat completions REST reference,
quota and content-filtering docs), not from ``fastcrew.sim``: it records what arrives and
answers with the next scripted reply.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from loopback import start_app

from fastcrew import LLM, RateLimit, RetryPolicy, errors
from fastcrew.limits import SharedBudget
from fastcrew.limits.source import LocalBudget

KEY = "fake-azure-key-1234567890"
VERSION = "2024-10-21"


def completion(text: str = "Hi from Azure", finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o-2024-08-06",
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
        "choices": [
            {
                "index": 0,
                "finish_reason": finish,
                "message": {"role": "assistant", "content": text},
                "content_filter_results": {},
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13},
    }


REMAINING = {"x-ratelimit-remaining-requests": "2", "x-ratelimit-remaining-tokens": "50"}
FILTERED = {
    "error": {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's "
        "content management policy.",
        "type": None,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
        "innererror": {
            "code": "ResponsibleAIPolicyViolation",
            "content_filter_result": {
                "hate": {"filtered": False, "severity": "safe"},
                "self_harm": {"filtered": True, "severity": "medium"},
                "sexual": {"filtered": False, "severity": "safe"},
                "violence": {"filtered": True, "severity": "high"},
                "jailbreak": {"filtered": False, "detected": False},
            },
        },
    }
}


@dataclass
class FakeAzure:
    """Received requests and the replies still to send (then: a plain completion)."""

    url: str = ""
    seen: list[web.Request] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    replies: list[tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=list)

    async def chat(self, request: web.Request) -> web.Response:
        self.seen.append(request)
        self.bodies.append(await request.json())
        if (
            request.headers.get("api-key") != KEY
            and request.headers.get("Authorization") != f"Bearer {KEY}"
        ):
            return web.json_response({"error": {"code": "401", "message": "Access denied"}}, 401)
        status, body, headers = (
            self.replies.pop(0) if self.replies else (200, completion(), REMAINING)
        )
        return web.Response(
            status=status, text=json.dumps(body), content_type="application/json", headers=headers
        )


@pytest.fixture
async def fake() -> AsyncIterator[FakeAzure]:
    state = FakeAzure()
    app = web.Application()
    app.router.add_post("/openai/deployments/{deployment}/chat/completions", state.chat)
    runner, state.url = await start_app(app)
    yield state
    await runner.cleanup()


def llm(fake: FakeAzure, **kwargs: Any) -> LLM:
    kwargs.setdefault("api_key", KEY)
    return LLM("azure/my-gpt4o", base_url=fake.url, api_version=VERSION, **kwargs)


async def test_url_query_and_api_key_header(fake: FakeAzure) -> None:
    answer = await llm(fake, temperature=0.2).achat("hello")
    [request] = fake.seen
    assert request.path == "/openai/deployments/my-gpt4o/chat/completions"
    assert dict(request.query) == {"api-version": VERSION}
    assert request.headers["api-key"] == KEY
    assert "Authorization" not in request.headers
    assert fake.bodies[0]["model"] == "my-gpt4o"  # the deployment, as openai.AzureOpenAI sends
    assert fake.bodies[0]["messages"] == [{"role": "user", "content": "hello"}]
    assert fake.bodies[0]["temperature"] == 0.2
    assert answer.content == "Hi from Azure"


async def test_an_entra_token_goes_in_authorization_and_no_api_key(fake: FakeAzure) -> None:
    await llm(fake, api_key=None, azure_ad_token_provider=lambda: KEY).achat("hello")
    [request] = fake.seen
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert "api-key" not in request.headers


async def test_the_resource_url_may_end_with_openai(fake: FakeAzure) -> None:
    await LLM("azure/d", base_url=fake.url + "/openai/", api_key=KEY, api_version="v").achat("x")
    assert fake.seen[0].path == "/openai/deployments/d/chat/completions"


async def test_content_filter_400_names_the_filtered_categories(fake: FakeAzure) -> None:
    fake.replies.append((400, FILTERED, {}))
    with pytest.raises(errors.ContentFilterError) as info:
        await llm(fake, retry=RetryPolicy(max_attempts=5, base_delay=0)).achat("x")
    assert str(info.value) == (
        "Azure's content filter refused the prompt: self_harm (medium), violence (high)"
    )
    assert info.value.categories == {"self_harm": "medium", "violence": "high"}
    assert len(fake.seen) == 1  # not retried
    assert KEY not in repr(info.value.body)


async def test_finish_reason_content_filter_keeps_the_text(fake: FakeAzure) -> None:
    fake.replies.append((200, completion("partial", "content_filter"), {}))
    fake.replies.append((200, completion("partial", "content_filter"), {}))
    model = llm(fake)
    assert (await model.achat("x")).finish_reason == "content_filter"
    assert await model.acall("x") == "partial"


async def test_retry_after_ms_wins_over_retry_after(fake: FakeAzure) -> None:
    message = "Requests to the ChatCompletions_Create Operation have exceeded call rate limit."
    limited = {"error": {"code": "429", "message": message}}
    fake.replies.append((429, limited, {"retry-after": "30", "retry-after-ms": "5"}))
    model = llm(fake)
    answer = await model.achat("x")
    assert answer.retries == 1
    assert len(fake.seen) == 2
    assert model.limiter().stats.paused_s == pytest.approx(0.005)


async def test_remaining_headers_alone_tighten_the_budget(fake: FakeAzure) -> None:
    model = llm(fake, rate_limit=RateLimit(rpm=600, tpm=60_000))  # 10 requests, 1000 tokens
    answer = await model.achat("x")
    snapshot = answer.rate_limits
    assert snapshot.present
    assert (snapshot.remaining_requests, snapshot.remaining_tokens) == (2, 50)
    assert snapshot.limit_requests is None
    assert snapshot.reset_requests is None
    source = model.limiter().source
    budget = source.budget if isinstance(source, SharedBudget) else source
    assert isinstance(budget, LocalBudget)
    assert budget.requests is not None
    assert budget.tokens is not None
    assert budget.requests.level < 3
    assert budget.tokens.level < 60
