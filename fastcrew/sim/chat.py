"""The chat-completions pipeline of the simulator, on OpenAI's path and Azure's deployment
path (``azure.py``): auth (401) → body validation (400) → quota (429 ``insufficient_quota``)
→ rate limits (429 + ``retry-after``) → faults (500, dropped connection, stall, malformed
200) → latency → the answer (JSON or SSE). Every response carries the ``x-ratelimit-*``
headers of the configured limits (Azure's: the ``remaining`` two only).
"""

from __future__ import annotations

import asyncio
import contextvars
import hmac

from aiohttp import web

from . import replies
from .answers import Answer, AnswerMaker, prompt_tokens
from .azure import AzureWire, prompt_refusal
from .buckets import RateLimits, Refusal, refusal_message
from .config import SimConfig
from .faults import Fault, FaultDice
from .latency import Latency
from .replies import JSON, OVERLOADED, SSE_HEADERS, error_body
from .request import BadRequest, ChatRequest, parse_chat_request
from .stats import SimStats
from .streaming import drop, write_broken, write_paced
from .wire import DONE, StreamEvents, completion_body

__all__ = ["AZURE", "ChatWire"]

AZURE: contextvars.ContextVar[bool] = contextvars.ContextVar("sim_azure", default=False)
"""Set while a request on Azure's deployment path is answered: Azure OpenAI sends only
``x-ratelimit-remaining-requests`` / ``-tokens``."""


class ChatWire:
    """``POST /v1/chat/completions`` and Azure's deployment path: the simulator's answers,
    limits, faults and latency, shared with its other wires."""

    def __init__(
        self,
        config: SimConfig,
        answers: AnswerMaker,
        limits: RateLimits,
        stats: SimStats,
        faults: FaultDice,
        latency: Latency,
        closing: asyncio.Event,
        auth: bytes | None,
    ) -> None:
        self.config = config
        self._answers, self._limits, self._stats = answers, limits, stats
        self._faults, self._latency, self._closing = faults, latency, closing
        self._auth = auth
        self._reject_tools = config.tool_support == "reject"

    def _respond(
        self, status: int, body: bytes, headers: dict[str, str] | None = None
    ) -> web.Response:
        self._stats.status(status)
        limits = self._limits
        if limits.enabled:
            own = limits.headers(AZURE.get())
            headers = {**own, **headers} if headers else own
        return web.Response(status=status, body=body, content_type=JSON, headers=headers)

    def _rate_limited(self, refusal: Refusal, model: str) -> web.Response:
        message, headers = refusal_message(refusal, model)
        return self._respond(429, error_body(message, refusal.kind, "rate_limit_exceeded"), headers)

    async def steps(self, request: web.Request, azure: AzureWire | None) -> web.StreamResponse:
        """One chat request, Azure's when ``azure`` is given, through every step."""
        stats = self._stats
        config = self.config
        refused = azure.refuse(request) if azure is not None else None
        if refused is not None:
            return self._respond(*refused)
        if azure is None and self._auth is not None:
            given = request.headers.get("Authorization", "").encode("utf-8", "replace")
            if not hmac.compare_digest(given, self._auth):
                return self._respond(401, replies.BAD_KEY)
        try:
            chat = parse_chat_request(await request.read())
        except BadRequest as exc:
            body = error_body(exc.message, "invalid_request_error", None, exc.param)
            return self._respond(400, body)
        if chat.tools is not None and self._reject_tools:
            return self._respond(400, replies.NO_TOOLS)
        model = chat.model or config.model_name
        if azure is not None:  # the deployment's model: the OpenAI wire's answers for it
            chat.model = model = azure.model(request)
        if config.quota_after is not None and stats.admitted_total >= config.quota_after:
            stats.quota_rejected += 1
            return self._respond(429, replies.NO_QUOTA)
        prompt = prompt_tokens(chat.messages, chat.tools)
        if self._limits.enabled:
            charge = prompt + (chat.max_tokens or config.completion_tokens) * chat.n
            refusal = self._limits.admit(charge)
            if refusal is not None:
                stats.rate_limited[refusal.kind] += 1
                return self._rate_limited(refusal, model)
        stats.admitted()
        fault = self._faults.roll()
        if fault is not None:
            return await self._fault(fault, request, chat)
        hit = azure.roll() if azure is not None else None
        if hit == "prompt":
            stats.content_filtered += 1
            return self._respond(400, prompt_refusal(stats.requests_total))
        delay = self._latency.next()
        try:
            answers = self._answers.answers(chat) if chat.n > 1 else [self._answers.answer(chat)]
        except BadRequest as exc:  # an unusable tool parameters schema
            body = error_body(exc.message, "invalid_request_error", None, exc.param)
            return self._respond(400, body)
        except (KeyError, ValueError, RecursionError) as exc:  # an unusable json_schema
            message = f"Invalid schema for response_format: {exc!s}"
            body = error_body(message, "invalid_request_error", None, "response_format")
            return self._respond(400, body)
        if hit == "output":
            stats.content_filtered += 1
            AzureWire.cut(answers)
        if chat.stream:
            if delay > 0:
                await asyncio.sleep(delay)
            return await self._stream(request, chat, answers, model, prompt)
        if config.tokens_per_s > 0:  # the choices are written side by side: the longest
            delay += max(a.completion_tokens for a in answers) / config.tokens_per_s
        if delay > 0:
            await asyncio.sleep(delay)
        self._answered(prompt, answers)
        body = completion_body(answers, model, prompt)
        return self._respond(200, body if azure is None else azure.body(body, hit is not None))

    def _answered(self, prompt: int, answers: list[Answer]) -> None:
        for i, answer in enumerate(answers):
            self._stats.answered(prompt if i == 0 else 0, answer)

    async def _stream(
        self,
        request: web.Request,
        chat: ChatRequest,
        answers: list[Answer],
        model: str,
        prompt: int,
    ) -> web.StreamResponse:
        limits = self._limits
        headers = {**limits.headers(AZURE.get()), **SSE_HEADERS} if limits.enabled else SSE_HEADERS
        response = web.StreamResponse(status=200, headers=headers)
        events = StreamEvents(answers, model, prompt, chat.include_usage)
        self._stats.status(200)  # counted when the stream starts
        tail = b"".join(events.tail)
        speed = self.config.tokens_per_s
        if not await write_paced(request, response, events.first, events.pieces, tail, speed):
            return response  # the client went away mid-stream
        self._answered(prompt, answers)
        return response

    async def _fault(
        self, fault: Fault, request: web.Request, chat: ChatRequest
    ) -> web.StreamResponse:
        if fault == "overloaded":
            self._stats.overloaded += 1
            return self._respond(503, OVERLOADED)
        self._stats.faults[fault] += 1
        if fault == "fail":
            return self._respond(500, replies.SERVER_ERROR)
        if fault == "malformed":
            if not chat.stream:
                return self._respond(200, replies.MALFORMED_BODY)
            response = web.StreamResponse(status=200, headers=SSE_HEADERS)
            self._stats.status(200)
            await write_broken(request, response, replies.MALFORMED_STREAM + DONE)
            return response
        return await drop(request, fault == "stall", self._closing)
