"""Deterministic answers and the token estimate.

Token estimate (also in docs/simulator.md)::

    tokens(text)      = ceil(len(text) / 4), at least 1 for non-empty text, 0 for ""
    prompt_tokens     = 3 + Σ over messages (4 + tokens(text of the message's content))
    completion_tokens = tokens(answer content)

The text of a content-part list is its text parts joined by single spaces.

An answer is a pure function of (seed, messages, model, response_format, max tokens): a
BLAKE2b digest of those, in canonical form (sorted keys), picks every variable part. A plain
answer reads ``"Simulated answer <8-hex digest> to: <echo>"`` followed by filler words up to
``completion_tokens`` tokens, where the echo is the first ``echo_chars`` characters of the last
user message with whitespace collapsed. A ``json_object`` answer is
``{"answer": <that sentence>, "digest": <8-hex>}``; a ``json_schema`` answer is a sample
instance of the schema (see ``schema.py``). If the answer has more tokens than the request's
``max_tokens`` / ``max_completion_tokens``, it is cut to ``4 * max_tokens`` characters and
``finish_reason`` is ``"length"`` (a cut JSON answer is invalid JSON, as with a real model).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

from .._json import dumps
from .request import ChatRequest, message_text
from .schema import sample_instance

__all__ = ["Answer", "AnswerMaker", "estimate_tokens", "prompt_tokens"]

_WORDS = (  # noqa: SIM905 - a readable word list
    "alpha beta gamma delta epsilon zeta theta kappa lambda sigma omega river stone "
    "cloud forest meadow harbor lantern compass anchor signal vector matrix kernel "
    "buffer packet socket thread module record column ledger metric sample batch token "
    "budget window bucket answer simulated latency stream chunk cursor cipher marble "
    "copper silver amber violet crimson orchard summit canyon glacier prairie tundra "
    "island beacon"
).split()


def estimate_tokens(text: str) -> int:
    """``ceil(len(text) / 4)``: 0 for ``""``, at least 1 otherwise."""
    return (len(text) + 3) // 4


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """``3 + Σ (4 + tokens(content))`` over the messages."""
    return 3 + sum(4 + estimate_tokens(message_text(m.get("content"))) for m in messages)


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return [[k, _canonical(v)] for k, v in sorted(value.items())]
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Answer:
    """The assistant's content and what ``usage`` / ``finish_reason`` report about it."""

    id: str
    content: str
    finish_reason: str
    completion_tokens: int


class AnswerMaker:
    """Builds answers for one simulator (its seed, answer length and echo width)."""

    def __init__(self, seed: int, completion_tokens: int, echo_chars: int) -> None:
        self.seed = seed
        self.target_chars = completion_tokens * 4
        self.echo_chars = echo_chars
        words = list(_WORDS)
        random.Random(f"{seed}:words").shuffle(words)
        self.words = words

    def digest(self, request: ChatRequest) -> str:
        """Hex digest of everything the answer may depend on."""
        fmt = request.response_format if request.format_kind != "text" else None
        key = [
            self.seed,
            request.model,
            request.max_tokens,
            _canonical(request.messages),
            _canonical(fmt),
        ]
        return hashlib.blake2b(dumps(key), digest_size=16).hexdigest()

    def echo(self, request: ChatRequest) -> str:
        """The first ``echo_chars`` characters of the last user message, whitespace collapsed."""
        messages = request.messages
        chosen = next((m for m in reversed(messages) if m["role"] == "user"), messages[-1])
        text = message_text(chosen.get("content"))
        size = self.echo_chars * 2 + 16  # collapse a prefix only; grow it if it was too short
        while True:
            collapsed = " ".join(text[:size].split())
            if len(collapsed) > self.echo_chars or size >= len(text):
                return collapsed[: self.echo_chars]
            size *= 4

    def answer(self, request: ChatRequest) -> Answer:
        """The full answer to ``request``."""
        digest = self.digest(request)
        sentence = f"Simulated answer {digest[:8]} to: {self.echo(request)}".rstrip()
        if request.format_kind == "json_schema":
            content = dumps(sample_instance(request.schema, sentence, digest)).decode()
        elif request.format_kind == "json_object":
            content = dumps({"answer": sentence, "digest": digest[:8]}).decode()
        else:
            content = self._pad(sentence, digest)
        finish = "stop"
        limit = request.max_tokens
        if limit is not None and estimate_tokens(content) > limit:
            content = content[: limit * 4]
            finish = "length"
        return Answer(
            id=f"chatcmpl-{digest[:24]}",
            content=content,
            finish_reason=finish,
            completion_tokens=estimate_tokens(content),
        )

    def _pad(self, sentence: str, digest: str) -> str:
        target = self.target_chars
        if len(sentence) >= target:
            return sentence
        words = self.words
        parts = [sentence]
        size = len(sentence)
        i = int(digest[8:16], 16)
        while size < target:
            word = words[i % len(words)]
            parts.append(word)
            size += len(word) + 1
            i += 1
        return " ".join(parts)[:target].rstrip()
