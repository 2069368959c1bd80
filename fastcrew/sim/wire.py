"""The bytes of a 200 answer: the ``chat.completion`` body and the SSE chunk events.

A streamed text answer: a role delta, one ``content`` delta per estimated token (4 characters),
an empty delta with the ``finish_reason``, the usage chunk (when asked), ``[DONE]``. A streamed
tool-call answer follows OpenAI: the first delta carries the role, ``content: null`` and the
first call's header (``index``, ``id``, ``type``, ``function.name``, ``arguments: ""``); then
argument fragments of 4 characters (``{"index": i, "function": {"arguments": "…"}}``), the next
call's header, its fragments, and so on.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from itertools import zip_longest
from typing import Any

from .._json import dumps
from .answers import Answer

__all__ = [
    "CHARS_PER_CHUNK",
    "DONE",
    "FINGERPRINT",
    "StreamEvents",
    "completion_body",
    "models_body",
    "usage",
]

FINGERPRINT = "fp_fastcrew_sim"
CHARS_PER_CHUNK = 4  # one estimated token per streamed delta
DONE = b"data: [DONE]\n\n"


def usage(prompt: int, completion: int) -> dict[str, Any]:
    """The ``usage`` object of an answer."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def models_body(model: str) -> bytes:
    """The body of ``GET /v1/models``: the one configured model."""
    owner = {"object": "model", "created": int(time.time()), "owned_by": "fastcrew-sim"}
    return dumps({"object": "list", "data": [{"id": model, **owner}]})


def _calls(answer: Answer) -> list[dict[str, Any]]:
    return [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments},
        }
        for call in answer.tool_calls
    ]


def _message(answer: Answer) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.content, "refusal": None}
    if answer.tool_calls:
        message["tool_calls"] = _calls(answer)
    return message


def completion_body(answers: Sequence[Answer], model: str, prompt: int) -> bytes:
    """The JSON body of a non-streamed answer: one choice per answer (``n``), the usage's
    completion tokens summed over them."""
    return dumps(
        {
            "id": answers[0].id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": i,
                    "message": _message(answer),
                    "logprobs": None,
                    "finish_reason": answer.finish_reason,
                }
                for i, answer in enumerate(answers)
            ],
            "usage": usage(prompt, sum(a.completion_tokens for a in answers)),
            "system_fingerprint": FINGERPRINT,
        }
    )


def _side_by_side(streams: list[list[bytes]]) -> list[bytes]:
    """Step ``k`` holds every stream's ``k``-th event (streams of different lengths)."""
    return [b"".join(step) for step in zip_longest(*streams, fillvalue=b"")]


def _pieces(text: str) -> list[str]:
    return [text[i : i + CHARS_PER_CHUNK] for i in range(0, len(text), CHARS_PER_CHUNK)]


class StreamEvents:
    """The SSE events of the answers (one per choice): ``first``, the paced ``pieces``, then
    ``tail``. With ``n > 1`` each event of ``first`` / ``pieces`` holds the choices' chunks
    side by side (choice ``i``'s chunks carry ``index: i``), so ``n`` choices take the time of
    the longest."""

    __slots__ = ("base", "first", "pieces", "tail")

    def __init__(
        self, answers: Sequence[Answer], model: str, prompt: int, include_usage: bool
    ) -> None:
        base: dict[str, Any] = {
            "id": answers[0].id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": FINGERPRINT,
        }
        if include_usage:
            base["usage"] = None
        self.base = base
        firsts: list[bytes] = []
        streams: list[list[bytes]] = []
        for i, answer in enumerate(answers):
            if answer.tool_calls:
                deltas = self._tool_deltas(answer)
                firsts.append(self.delta(deltas[0], index=i))
                streams.append([self.delta(d, index=i) for d in deltas[1:]])
            else:
                role = {"role": "assistant", "content": "", "refusal": None}
                firsts.append(self.delta(role, index=i))
                pieces = _pieces(answer.content or "")
                streams.append([self.delta({"content": p}, index=i) for p in pieces])
        self.first = b"".join(firsts)
        self.pieces = streams[0] if len(streams) == 1 else _side_by_side(streams)
        tail = [self.delta({}, a.finish_reason, index=i) for i, a in enumerate(answers)]
        if include_usage:
            completion = sum(a.completion_tokens for a in answers)
            tail.append(self.event([], usage=usage(prompt, completion)))
        tail.append(DONE)
        self.tail = tail

    def event(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        """One ``data:`` event with these choices."""
        return b"data: " + dumps({**self.base, "choices": choices, **extra}) + b"\n\n"

    def delta(self, delta: dict[str, Any], finish: str | None = None, index: int = 0) -> bytes:
        """One chunk event of choice ``index``."""
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
        return self.event([choice])

    @staticmethod
    def _tool_deltas(answer: Answer) -> list[dict[str, Any]]:
        deltas: list[dict[str, Any]] = []
        for i, call in enumerate(answer.tool_calls):
            header = {
                "index": i,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            if i == 0:
                deltas.append(
                    {"role": "assistant", "content": None, "refusal": None, "tool_calls": [header]}
                )
            else:
                deltas.append({"tool_calls": [header]})
            deltas.extend(
                {"tool_calls": [{"index": i, "function": {"arguments": piece}}]}
                for piece in _pieces(call.arguments)
            )
        return deltas
