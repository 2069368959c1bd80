"""Anthropic's Messages API (``POST /v1/messages``) on the simulator's answers.

Steps, like the OpenAI wire: auth (``x-api-key`` or ``Authorization: Bearer``, 401) →
``anthropic-version`` header (400) → body (400) → quota (400, "credit balance is too low")
→ RPM / ITPM / OTPM (429 + ``retry-after``) → faults (500 ``api_error``, 529
``overloaded_error``, dropped connection, stall, malformed 200) → latency → the answer (JSON
or SSE). The answer is the OpenAI wire's (``AnswerMaker`` on the translated request), in
Anthropic's shapes. Every response carries a ``request-id`` (``req_`` + 24 characters);
errors are ``{"type": "error", "error": {"type", "message"}, "request_id"}``.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import os
from collections.abc import Callable

from aiohttp import web

from .._json import dumps
from .answers import Answer, AnswerMaker
from .anthropic_cache import AnthropicLimits, PromptCache
from .anthropic_request import MessagesRequest, parse_messages_request
from .anthropic_stream import Reply, Usage, message_body, reply_of, stream_events
from .config import SimConfig
from .faults import FaultDice
from .latency import Latency
from .replies import JSON, SSE_HEADERS
from .request import BadRequest
from .stats import SimStats
from .streaming import drop, write_broken, write_paced

__all__ = ["AnthropicWire", "anthropic_error"]

_UNITS = {
    "requests": "requests",
    "input_tokens": "input tokens",
    "output_tokens": "output tokens",
}
_STAT_KIND = {"requests": "requests", "input_tokens": "tokens", "output_tokens": "tokens"}
_BROKEN_EVENT = b'event: message_start\ndata: {"type": "message_st\n\n'
_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _request_id() -> str:
    return "req_" + "".join(_ALPHABET[b % len(_ALPHABET)] for b in os.urandom(24))


def anthropic_error(kind: str, message: str, request_id: str) -> bytes:
    """Anthropic's error body."""
    return dumps(
        {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}
    )


class AnthropicWire:
    """The ``/v1/messages`` handler; shares answers, faults, latency and stats with the
    simulator, and has its own rate limits and prompt cache."""

    def __init__(
        self,
        config: SimConfig,
        answers: AnswerMaker,
        stats: SimStats,
        faults: FaultDice,
        latency: Latency,
        closing: asyncio.Event,
        clock: Callable[[], float],
    ) -> None:
        self.config, self.answers, self.stats = config, answers, stats
        self.faults, self.latency, self.closing = faults, latency, closing
        self.limits = AnthropicLimits(
            config.rpm, config.itpm, config.otpm, config.limit_window_s, wall=clock
        )
        self.cache = PromptCache(config.cache_min_tokens, clock)
        key = config.api_key
        self.key = None if key is None else key.encode()

    def reset(self) -> None:
        """Refill the buckets (a stats reset); the prompt cache stays."""
        self.limits.reset()

    def _respond(self, status: int, body: bytes, rid: str, **headers: str) -> web.Response:
        self.stats.status(status)
        out = {"request-id": rid, **headers}
        if self.limits.enabled:
            out.update(self.limits.headers())
        return web.Response(status=status, body=body, content_type=JSON, headers=out)

    def _error(
        self, status: int, kind: str, message: str, rid: str, **headers: str
    ) -> web.Response:
        return self._respond(status, anthropic_error(kind, message, rid), rid, **headers)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """One ``POST /v1/messages``."""
        rid = _request_id()
        if self.key is not None:
            given = request.headers.get("x-api-key")
            if given is None:  # the SDK's ``api_key`` goes out as a bearer token too
                given = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if not hmac.compare_digest(given.encode("utf-8", "replace"), self.key):
                return self._error(401, "authentication_error", "invalid x-api-key", rid)
        if not request.headers.get("anthropic-version"):
            message = "anthropic-version: header is required"
            return self._error(400, "invalid_request_error", message, rid)
        try:
            parsed = parse_messages_request(await request.read())
        except BadRequest as exc:
            return self._error(400, "invalid_request_error", exc.message, rid)
        chat = parsed.chat
        if chat.tools is not None and self.config.tool_support == "reject":
            return self._error(400, "invalid_request_error", "tools: not supported", rid)
        stats, config = self.stats, self.config
        if config.quota_after is not None and stats.admitted_total >= config.quota_after:
            stats.quota_rejected += 1
            message = (
                "Your credit balance is too low to access the Anthropic API. "
                "Please go to Plans & Billing to upgrade or purchase credits."
            )
            return self._error(400, "invalid_request_error", message, rid)
        points = self.cache.breakpoints(parsed.model, parsed.segments)
        read, creation = self.cache.lookup(points)
        total = parsed.input_tokens
        usage = Usage(total - read - creation, creation, read, _one_hour(points, read, creation))
        max_tokens = chat.max_tokens or 1
        if self.limits.enabled:
            refusal = self.limits.admit(usage.input_tokens + creation, max_tokens)
            if refusal is not None:
                stats.rate_limited[_STAT_KIND[refusal.kind]] += 1
                return self._rate_limited(refusal.kind, refusal.limit, refusal.retry_after, rid)
        stats.admitted()
        answered = [0]  # the answer's output tokens, once known
        try:
            return await self._answer(request, parsed, usage, points, rid, answered)
        finally:  # Anthropic refunds the unused max_tokens when the call ends
            self.limits.settle(max_tokens, answered[0])

    async def _answer(
        self,
        request: web.Request,
        parsed: MessagesRequest,
        usage: Usage,
        points: list[tuple[bytes, int, float]],
        rid: str,
        answered: list[int],
    ) -> web.StreamResponse:
        """An admitted call's answer (or fault); its output tokens go into ``answered``."""
        stats, config, chat = self.stats, self.config, parsed.chat
        fault = self.faults.roll()
        if fault is not None:
            return await self._fault(fault, request, parsed, rid)
        delay = self.latency.next()
        try:
            answer = self.answers.answer(chat)
        except BadRequest as exc:  # an unusable tool input_schema
            return self._error(400, "invalid_request_error", exc.message, rid)
        except (KeyError, ValueError, RecursionError) as exc:  # an unusable output schema
            message = f"output_config.format.schema: {exc!s}"
            return self._error(400, "invalid_request_error", message, rid)
        reply = reply_of(answer, parsed.stop_sequences)
        answer.completion_tokens = answered[0] = reply.output_tokens  # after a stop's cut
        self.cache.store(points)
        stats.cache_creation_tokens += usage.cache_creation
        stats.cache_read_tokens += usage.cache_read
        if chat.stream:
            if delay > 0:
                await asyncio.sleep(delay)
            return await self._stream(request, reply, parsed, usage, rid, answer)
        if config.tokens_per_s > 0:
            delay += reply.output_tokens / config.tokens_per_s
        if delay > 0:
            await asyncio.sleep(delay)
        stats.answered(parsed.input_tokens, answer)
        return self._respond(200, message_body(reply, parsed.model, usage), rid)

    def _rate_limited(self, kind: str, limit: int, wait: float, rid: str) -> web.Response:
        if math.isinf(wait):
            message = (
                f"This request would exceed your organization's rate limit of {limit:,} "
                f"{_UNITS[kind]} per minute on its own. Please reduce the prompt length or "
                "the maximum tokens requested."
            )
            return self._error(429, "rate_limit_error", message, rid)
        message = (
            f"This request would exceed your organization's rate limit of {limit:,} "
            f"{_UNITS[kind]} per minute. For details, refer to: "
            "https://docs.claude.com/en/api/rate-limits. You can see the response headers for "
            "current usage. Please reduce the prompt length or the maximum tokens requested, "
            "or try again later."
        )
        retry = str(max(1, math.ceil(wait)))
        return self._error(429, "rate_limit_error", message, rid, **{"retry-after": retry})

    async def _fault(
        self, fault: str, request: web.Request, parsed: MessagesRequest, rid: str
    ) -> web.StreamResponse:
        if fault == "overloaded":
            self.stats.overloaded += 1
            return self._error(529, "overloaded_error", "Overloaded", rid)
        self.stats.faults[fault] += 1
        if fault == "fail":
            return self._error(500, "api_error", "Internal server error", rid)
        if fault == "malformed":
            if not parsed.chat.stream:
                return self._respond(200, b'{"id": "msg_malformed", "type": "message", "con', rid)
            response = web.StreamResponse(status=200, headers={**SSE_HEADERS, "request-id": rid})
            self.stats.status(200)
            await write_broken(request, response, _BROKEN_EVENT)
            return response
        return await drop(request, fault == "stall", self.closing)

    async def _stream(
        self,
        request: web.Request,
        reply: Reply,
        parsed: MessagesRequest,
        usage: Usage,
        rid: str,
        answer: Answer,
    ) -> web.StreamResponse:
        headers = {**SSE_HEADERS, "request-id": rid}
        if self.limits.enabled:
            headers.update(self.limits.headers())
        response = web.StreamResponse(status=200, headers=headers)
        head, pieces, tail = stream_events(reply, parsed.model, usage)
        self.stats.status(200)
        if not await write_paced(request, response, head, pieces, tail, self.config.tokens_per_s):
            return response  # the client went away mid-stream
        self.stats.answered(parsed.input_tokens, answer)
        return response


def _one_hour(points: list[tuple[bytes, int, float]], read: int, creation: int) -> int:
    """The cache-creation tokens written with a 1-hour TTL (the last breakpoint's TTL)."""
    return creation if creation and points[-1][2] > 300 else 0
