"""``POST /v1/embeddings``: OpenAI's embeddings wire, with vectors that make retrieval testable.

A vector depends on the input and the dimension count alone (not on the seed or the model).
Features: the lower-cased words (runs of ``\\w``) but a few English stop words, at weight 2,
and each pair of adjacent words at weight 1. Each feature's stable hash (blake2b, 8 bytes; a
pair's is mixed from its words') adds ``±weight`` to two of the ``dimensions`` slots; the sum
is L2-normalised and rounded to float32. So texts that share words have a high cosine and
texts that share none are near 0: only hash collisions move it, and two slots per feature
halve what one collision can do. A token array embeds its integers as words; an input without
a word (punctuation only) is one-hot on a slot drawn from its whole text.

Steps, like the chat route: auth (401) → body (400) → quota (429) → rate limits (429 +
``retry-after``, charged the input tokens) → faults (500, 503, dropped connection, stall,
malformed 200) → latency → the answer. Counted under ``embedding_*`` in ``GET /sim/stats``,
apart from the chat counters.
"""

from __future__ import annotations

import asyncio
import base64
import math
import re
import sys
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from hashlib import blake2b
from itertools import repeat
from operator import mul, xor
from typing import Any, TypeAlias

from aiohttp import web

from .._json import JSONDecodeError, dumps, loads
from . import replies
from .answers import estimate_tokens
from .buckets import RateLimits, refusal_message
from .config import SimConfig
from .faults import Fault, FaultDice
from .files import check_auth
from .latency import Latency
from .replies import error_body
from .request import BadRequest
from .stats import SimStats
from .streaming import drop

__all__ = [
    "EMBEDDINGS_PATH",
    "MAX_INPUTS",
    "MAX_INPUT_TOKENS",
    "MAX_REQUEST_TOKENS",
    "NATIVE_DIMENSIONS",
    "EmbeddingRequest",
    "EmbeddingsWire",
    "embed",
    "parse_embedding_request",
    "text_words",
    "token_words",
]

EMBEDDINGS_PATH = "/v1/embeddings"
NATIVE_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
FIXED_DIMENSIONS = frozenset({"text-embedding-ada-002"})  # no ``dimensions`` parameter
MAX_INPUTS = 2048  # OpenAI's limits per request
MAX_INPUT_TOKENS = 8192
MAX_REQUEST_TOKENS = 300_000
THREAD_INPUTS = 64  # bigger requests are embedded off the event loop
_STOP_TEXT = (  # dropped unless a text has no other word
    "a an and are as at be but by for from has have in is it its of on or that the this to "
    "was were will with"
)
_STOP_WORDS = frozenset(_STOP_TEXT.split())
_WORD = re.compile(r"\w+")
_PAIR_MIX = 0x9E3779B97F4A7C15  # odd: a pair's hash is (hash(a) * _PAIR_MIX) ^ hash(b)
_MEMO_SIZE = 1 << 18
_TEXT_MEMO_SIZE = 4096  # recent texts' vectors (a few KB each), for texts embedded again
_memo: dict[str, int] = {}  # word -> its hash
_MALFORMED = b'{"object": "list", "data": [{"object": "embedding", "index": 0, "embedd'
_BIG_ENDIAN = sys.byteorder == "big"
# a unit vector's non-zero slots and their float32 values
Vector: TypeAlias = "tuple[array[int], array[float]]"


# -- vectors -------------------------------------------------------------------------------


def text_words(text: str) -> list[str]:
    """The lower-cased words of ``text``, stop words dropped unless nothing else is left."""
    words = _WORD.findall(text.lower())
    return [w for w in words if w not in _STOP_WORDS] or words


def token_words(tokens: Sequence[int]) -> list[str]:
    """A token array's integers as words (``#123``)."""
    return [f"#{t}" for t in tokens]


def _hash(word: str) -> int:
    """The stable 64-bit hash of ``word`` (blake2b)."""
    return int.from_bytes(blake2b(word.encode(), digest_size=8).digest(), "little")


def _hashes(words: list[str]) -> list[int]:
    """The words' hashes, memoised (the memo is emptied when full)."""
    if len(_memo) >= _MEMO_SIZE:
        _memo.clear()
    hashes = list(map(_memo.get, words))
    if None in hashes:
        for i, word in enumerate(words):
            if hashes[i] is None:
                hashes[i] = _memo[word] = _hash(word)
    return hashes  # type: ignore[return-value]  # no None left


def embed(words: list[str], dimensions: int, fallback: str = "") -> Vector:
    """The unit float32 vector of ``words`` (weight 2) and their adjacent pairs (weight 1),
    as ``(slots, values)`` of its non-zero entries: a feature of hash ``h`` adds ``±weight``
    to two slots, the base-``dimensions`` digits of ``h`` (each followed by its sign bit).
    One-hot from ``fallback`` when there is no word or the features cancel out."""
    hashes = _hashes(words)
    counts = Counter(hashes + hashes)
    counts.update(map(xor, map(mul, hashes, repeat(_PAIR_MIX)), hashes[1:]))  # pair hashes
    sums: dict[int, int] = {}
    get = sums.get
    for h, n in counts.items():  # two slots per feature, from the hash's digits
        h, i = divmod(h, dimensions)
        sums[i] = get(i, 0) + (-n if h & 1 else n)
        h, i = divmod(h >> 1, dimensions)
        sums[i] = get(i, 0) + (-n if h & 1 else n)
    norm = math.hypot(*sums.values())
    if norm == 0.0:
        return array("I", [_hash("\0" + fallback) % dimensions]), array("f", [1.0])
    scale = 1.0 / norm
    return array("I", sums), array("f", [w * scale for w in sums.values()])


@lru_cache(maxsize=_TEXT_MEMO_SIZE)
def _text_vector(text: str, dimensions: int) -> Vector:
    return embed(text_words(text), dimensions, text)


def _vector(item: str | list[int], dimensions: int) -> Vector:
    if isinstance(item, str):
        return _text_vector(item, dimensions)
    return embed(token_words(item), dimensions, repr(item))


def _encoded(vector: Vector, dimensions: int, encoding: str) -> list[float] | str:
    """The vector as a list of floats or base64 of little-endian float32."""
    slots, values = vector
    if encoding == "float":
        dense: list[float] = [0.0] * dimensions
        for i, v in zip(slots, values.tolist(), strict=True):
            dense[i] = v
        return dense
    packed = array("f", bytes(4 * dimensions))
    for i, v in zip(slots, values, strict=True):
        packed[i] = v
    if _BIG_ENDIAN:  # pragma: no cover - the wire is little-endian
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def embeddings_body(request: EmbeddingRequest) -> bytes:
    """The JSON body of a 200 answer to ``request``."""
    dims, encoding = request.dimensions, request.encoding_format
    data = [
        {
            "object": "embedding",
            "index": i,
            "embedding": _encoded(_vector(item, dims), dims, encoding),
        }
        for i, item in enumerate(request.inputs)
    ]
    usage = {"prompt_tokens": request.tokens, "total_tokens": request.tokens}
    return dumps({"object": "list", "data": data, "model": request.model, "usage": usage})


# -- the request ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmbeddingRequest:
    """A validated embeddings request: the inputs (texts or token arrays) and their tokens."""

    model: str
    inputs: list[str | list[int]]
    encoding_format: str
    dimensions: int
    tokens: int


def _invalid_input(why: str) -> BadRequest:
    return BadRequest(f"'$.input' is invalid: {why}.", "input")


def _is_tokens(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(t, int) and not isinstance(t, bool) for t in value
    )


def _inputs(value: Any) -> list[str | list[int]]:
    """``input`` as a list of texts or token arrays (OpenAI's four shapes)."""
    if isinstance(value, str):
        items: list[Any] = [value]
    elif not isinstance(value, list) or not value:
        raise _invalid_input("it must be a non-empty string or array")
    elif all(isinstance(v, str) for v in value) or all(_is_tokens(v) for v in value):
        items = value
    elif _is_tokens(value):
        items = [value]
    else:
        raise _invalid_input(
            "an array must hold only strings, only integers, or only arrays of integers"
        )
    if len(items) > MAX_INPUTS:
        raise _invalid_input(f"{len(items)} inputs, at most {MAX_INPUTS} are allowed")
    for item in items:
        if not item:
            raise _invalid_input("an input must not be empty")
        if not isinstance(item, str) and min(item) < 0:
            raise _invalid_input("token ids must not be negative")
    return items


def _tokens(item: str | list[int]) -> int:
    return estimate_tokens(item) if isinstance(item, str) else len(item)


def _count(items: list[str | list[int]]) -> int:
    """The input tokens, checked against the per-input and per-request limits."""
    total = 0
    for item in items:
        n = _tokens(item)
        if n > MAX_INPUT_TOKENS:
            raise BadRequest(
                f"This model's maximum context length is {MAX_INPUT_TOKENS} tokens, however "
                f"you requested {n} tokens in an input. Please reduce your input.",
                "input",
            )
        total += n
    if total > MAX_REQUEST_TOKENS:
        raise BadRequest(
            f"Requested {total} tokens, max {MAX_REQUEST_TOKENS} tokens per request.", "input"
        )
    return total


def _dimensions(value: Any, model: str, default: int) -> int:
    native = NATIVE_DIMENSIONS.get(model, default)
    if value is None:
        return native
    if model in FIXED_DIMENSIONS:
        raise BadRequest("This model does not support specifying dimensions.", "dimensions")
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= native:
        raise BadRequest(
            f"Invalid value for 'dimensions' = {value!r}: {model} supports 1 to {native}.",
            "dimensions",
        )
    return value


def parse_embedding_request(raw: bytes, default_dimensions: int) -> EmbeddingRequest:
    """Validate an embeddings body; raises :class:`BadRequest` (400) naming the field."""
    try:
        body = loads(raw)
    except JSONDecodeError:
        raise BadRequest("We could not parse the JSON body of your request.") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("you must provide a model parameter", "model")
    if "input" not in body:
        raise BadRequest("Missing required parameter: 'input'.", "input")
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise BadRequest(
            f"Invalid value for 'encoding_format' = {encoding!r}: use 'float' or 'base64'.",
            "encoding_format",
        )
    user = body.get("user")
    if user is not None and not isinstance(user, str):
        raise BadRequest("Invalid type for 'user': expected a string.", "user")
    dimensions = _dimensions(body.get("dimensions"), model, default_dimensions)
    items = _inputs(body["input"])
    return EmbeddingRequest(model, items, encoding, dimensions, _count(items))


# -- the route -----------------------------------------------------------------------------


class EmbeddingsWire:
    """The ``POST /v1/embeddings`` handler: shares the rate-limit buckets, the fault dice and
    the latency with the chat route, and counts apart from it."""

    def __init__(
        self,
        config: SimConfig,
        stats: SimStats,
        limits: RateLimits,
        faults: FaultDice,
        latency: Latency,
        closing: asyncio.Event,
        auth: bytes | None,
    ) -> None:
        self.config, self.stats, self.limits = config, stats, limits
        self.faults, self.latency, self.closing = faults, latency, closing
        self.auth = auth

    def register(self, router: web.UrlDispatcher) -> None:
        """Add the route."""
        router.add_post(EMBEDDINGS_PATH, self.handle)

    def _respond(
        self, status: int, body: bytes, headers: dict[str, str] | None = None
    ) -> web.Response:
        self.stats.embedding_status(status)
        if self.limits.enabled:
            headers = {**self.limits.headers(), **(headers or {})}
        return web.Response(status=status, body=body, content_type=replies.JSON, headers=headers)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """One ``POST /v1/embeddings``."""
        stats, config = self.stats, self.config
        stats.embedding_requests += 1
        if check_auth(request, self.auth) is not None:
            return self._respond(401, replies.BAD_KEY)
        try:
            parsed = parse_embedding_request(await request.read(), config.embedding_dimensions)
        except BadRequest as exc:
            return self._respond(
                400, error_body(exc.message, "invalid_request_error", None, exc.param)
            )
        if config.quota_after is not None and stats.admitted_total >= config.quota_after:
            return self._respond(429, replies.NO_QUOTA)
        if self.limits.enabled:
            refusal = self.limits.admit(parsed.tokens)
            if refusal is not None:
                stats.embedding_rate_limited[refusal.kind] += 1
                message, headers = refusal_message(refusal, parsed.model)
                body = error_body(message, refusal.kind, "rate_limit_exceeded")
                return self._respond(429, body, headers)
        fault = self.faults.roll()
        if fault is not None:
            return await self._fault(fault, request)
        delay = self.latency.next()
        if len(parsed.inputs) > THREAD_INPUTS:  # keep the loop serving other requests
            body = await asyncio.to_thread(embeddings_body, parsed)
        else:
            body = embeddings_body(parsed)
        if delay > 0:
            await asyncio.sleep(delay)
        stats.embedded(len(parsed.inputs), parsed.tokens)
        return self._respond(200, body)

    async def _fault(self, fault: Fault, request: web.Request) -> web.StreamResponse:
        self.stats.embedding_faults[fault] += 1
        if fault == "fail":
            return self._respond(500, replies.SERVER_ERROR)
        if fault == "overloaded":
            return self._respond(503, replies.OVERLOADED)
        if fault == "malformed":
            return self._respond(200, _MALFORMED)
        return await drop(request, fault == "stall", self.closing)
