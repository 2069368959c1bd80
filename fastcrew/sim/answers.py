"""Deterministic answers and the token estimate.

Token estimate (also in docs/simulator.md)::

    tokens(text)      = ceil(len(text) / 4), at least 1 for non-empty text, 0 for ""
    prompt_tokens     = 3 + Σ over messages (4 + tokens(text of the message's content)
                            + tokens(name + arguments of its tool calls, concatenated))
                        + Σ over offered tools tokens(name + description + parameters JSON)
    completion_tokens = tokens(answer content)

The text of a content-part list is its text parts joined by single spaces.

An answer is a pure function of (seed, messages, model, response_format, max tokens, and
tools / tool_choice / parallel_tool_calls when ``tools`` is given): a BLAKE2b digest of those,
in canonical form (sorted keys), picks every variable part. A plain answer reads
``"Simulated answer <8-hex digest> to: <echo>"`` (plus ``" | tool results: name: text; …"``
when the conversation holds ``role: tool`` messages) followed by filler words up to
``completion_tokens`` tokens, where the echo is the first ``echo_chars`` characters of the last
user message with whitespace collapsed. A ``json_object`` answer follows the shape the prompt
describes (``json_prompt.py``), else is ``{"answer": <that sentence>, "digest": <8-hex>}``; a
``json_schema`` answer is a sample instance of the schema (see ``schema.py``). Requests with
``tools`` may be answered with tool calls (``tools.py``); ReAct prompts get ReAct text
(``react.py``). If the answer has more tokens than the request's
``max_tokens`` / ``max_completion_tokens``, it is cut to ``4 * max_tokens`` characters and
``finish_reason`` is ``"length"`` (a cut JSON answer is invalid JSON, as with a real model).
With ``n > 1``, choice ``i > 0`` adds ``i`` to the digest's input: its own deterministic answer.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

from .._json import dumps, dumps_canonical
from .json_prompt import find_json_shape
from .react import find_react_prompt, observations, react_prompt_tools, wants_final_answer
from .request import ChatRequest, ToolSpec, message_text
from .schema import SCHEMA_ERRORS, sample_instance
from .tools import (
    ToolCall,
    arg_text_of,
    arguments_text,
    new_tool_results,
    plan_tool_calls,
    sub_digest,
    tool_index,
    tool_results,
)

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


def prompt_tokens(messages: list[dict[str, Any]], tools: tuple[ToolSpec, ...] | None = None) -> int:
    """``3 + Σ (4 + tokens(content) + tokens(its tool calls))`` over the messages, plus the
    offered tools (``tokens(name + description + parameters JSON)`` each), as a provider
    counts tool definitions and earlier calls in the prompt."""
    total = 3
    for m in messages:
        total += 4 + estimate_tokens(message_text(m.get("content")))
        calls = m.get("tool_calls")
        if calls and isinstance(calls, list):
            total += estimate_tokens("".join(_call_text(c) for c in calls))
    for tool in tools or ():
        schema = dumps_canonical(tool.parameters).decode()
        total += estimate_tokens(tool.name + tool.description + schema)
    return total


def _call_text(call: Any) -> str:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict):
        return ""
    name, arguments = function.get("name"), function.get("arguments")
    return (name if isinstance(name, str) else "") + (
        arguments if isinstance(arguments, str) else ""
    )


@dataclass(slots=True)
class Answer:
    """The assistant's content and what ``usage`` / ``finish_reason`` report about it."""

    id: str
    content: str | None
    finish_reason: str
    completion_tokens: int
    tool_calls: tuple[ToolCall, ...] = ()
    tool_results: int = 0  # role:tool messages after the request's last assistant message
    react_action: bool = False  # a ReAct "Action:" answer


class AnswerMaker:
    """Builds answers for one simulator (its seed, answer length and echo width)."""

    def __init__(
        self,
        seed: int,
        completion_tokens: int,
        echo_chars: int,
        *,
        tool_rounds: int = 1,
        parallel_calls: int = 2,
        malformed_args_rate: float = 0.0,
    ) -> None:
        self.seed = seed
        self.tool_rounds = tool_rounds
        self.parallel_calls = parallel_calls
        self.malformed_args_rate = malformed_args_rate
        self.target_chars = completion_tokens * 4
        self.echo_chars = echo_chars
        words = list(_WORDS)
        random.Random(f"{seed}:words").shuffle(words)
        self.words = words

    def digest(self, request: ChatRequest, choice: int = 0) -> str:
        """Hex digest of everything the answer may depend on (and the choice's index, when
        it is not 0: choice 0 is the same answer whatever ``n`` is)."""
        fmt = request.response_format if request.format_kind != "text" else None
        key: list[Any] = [self.seed, request.model, request.max_tokens, request.messages, fmt]
        if request.tools is not None:
            tools = [[t.name, t.description, t.parameters] for t in request.tools]
            key += [tools, request.tool_choice, request.parallel_tool_calls]
        if choice:
            key.append(["choice", choice])
        return hashlib.blake2b(dumps_canonical(key), digest_size=16).hexdigest()

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

    def answers(self, request: ChatRequest) -> list[Answer]:
        """The ``request.n`` choices' answers; all carry choice 0's ``id``."""
        first = self.answer(request)
        others = [self.answer(request, i) for i in range(1, request.n)]
        for other in others:
            other.id = first.id
        return [first, *others]

    def answer(self, request: ChatRequest, choice: int = 0) -> Answer:
        """The full answer to ``request`` (its choice number ``choice``)."""
        digest = self.digest(request, choice)
        echo = self.echo(request)
        results = new_tool_results(request.messages) if request.tools is not None else 0
        if request.tools:
            calls = plan_tool_calls(
                request,
                digest,
                tool_rounds=self.tool_rounds,
                parallel_calls=self.parallel_calls,
                malformed_rate=self.malformed_args_rate,
                arg_text=arg_text_of(echo),
            )
            if calls:
                return self._tool_answer(request, digest, calls, results)
        sentence = f"Simulated answer {digest[:8]} to: {echo}".rstrip()
        react_action = False
        prompt = find_react_prompt(request) if request.tools is None else None
        if prompt is not None:
            content, react_action = self._react(request, prompt, digest, sentence, echo)
        else:
            messages = request.messages
            if len(messages) > 1 and any(m["role"] == "tool" for m in messages):
                quotes = tool_results(messages, self.echo_chars)
                sentence = f"{sentence} | tool results: {'; '.join(quotes)}"
            content = self._formatted(request, sentence, digest)
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
            tool_results=results,
            react_action=react_action,
        )

    def _formatted(self, request: ChatRequest, sentence: str, digest: str) -> str:
        if request.format_kind == "json_schema":
            return dumps(sample_instance(request.schema, sentence, digest)).decode()
        if request.format_kind == "json_object":
            return self._json_object(request, sentence, digest)
        last = request.messages[-1].get("content")
        if isinstance(last, str) and "```json" in last:  # JSON asked for in a code block
            return f"```json\n{self._json_object(request, sentence, digest)}\n```"
        return self._pad(sentence, digest)

    def _json_object(self, request: ChatRequest, sentence: str, digest: str) -> str:
        shape = find_json_shape(request.messages)
        if shape is not None:
            try:
                value = sample_instance(shape, sentence, digest)
            except SCHEMA_ERRORS:
                value = None  # a schema we cannot follow: the fixed shape
            if isinstance(value, dict):
                return dumps(value).decode()
        return dumps({"answer": sentence, "digest": digest[:8]}).decode()

    def _tool_answer(
        self, request: ChatRequest, digest: str, calls: tuple[ToolCall, ...], results: int
    ) -> Answer:
        finish = "tool_calls"
        tokens = estimate_tokens("".join(c.name + c.arguments for c in calls))
        limit = request.max_tokens
        if limit is not None and tokens > limit:
            budget = limit * 4
            cut = []
            for call in calls:
                budget -= len(call.name)
                arguments = call.arguments[: max(budget, 0)]
                budget -= len(arguments)
                cut.append(ToolCall(call.id, call.name, arguments))
            calls = tuple(cut)
            tokens = estimate_tokens("".join(c.name + c.arguments for c in calls))
            finish = "length"
        return Answer(
            id=f"chatcmpl-{digest[:24]}",
            content=None,
            finish_reason=finish,
            completion_tokens=tokens,
            tool_calls=calls,
            tool_results=results,
        )

    def _react(
        self, request: ChatRequest, prompt: int, digest: str, sentence: str, echo: str
    ) -> tuple[str, bool]:
        messages = request.messages
        tools = react_prompt_tools(message_text(messages[prompt].get("content")))
        seen = observations(messages, prompt, {t.name for t in tools})
        if len(seen) < self.tool_rounds and not wants_final_answer(messages, prompt):
            tool = tools[tool_index(digest, len(tools))]
            sub = sub_digest(digest, 0)
            text = arg_text_of(echo) or f"sim-{sub[:8]}"
            try:
                arguments = arguments_text(tool.parameters, text, sub, self.malformed_args_rate)
            except SCHEMA_ERRORS:
                arguments = "{}"  # a schema in the prompt we cannot follow
            text = (
                f"Thought: I should use the {tool.name} tool (simulated {digest[:8]}).\n"
                f"Action: {tool.name}\n"
                f"Action Input: {arguments}"
            )
            return text, True
        if seen:
            width = self.echo_chars
            sentence = f"{sentence} | observations: {'; '.join(o[:width] for o in seen)}"
        return f"Thought: I have what I need to answer\nFinal Answer: {sentence}", False

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
