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
from typing import Any

from .._json import dumps
from .answers import Answer

__all__ = ["CHARS_PER_CHUNK", "DONE", "FINGERPRINT", "StreamEvents", "completion_body", "usage"]

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


def _calls(answer: Answer) -> list[dict[str, Any]]:
    return [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments},
        }
        for call in answer.tool_calls
    ]


def completion_body(answer: Answer, model: str, prompt: int) -> bytes:
    """The JSON body of a non-streamed answer."""
    message: dict[str, Any] = {"role": "assistant", "content": answer.content, "refusal": None}
    if answer.tool_calls:
        message["tool_calls"] = _calls(answer)
    return dumps(
        {
            "id": answer.id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": answer.finish_reason,
                }
            ],
            "usage": usage(prompt, answer.completion_tokens),
            "system_fingerprint": FINGERPRINT,
        }
    )


def _pieces(text: str) -> list[str]:
    return [text[i : i + CHARS_PER_CHUNK] for i in range(0, len(text), CHARS_PER_CHUNK)]


class StreamEvents:
    """The SSE events of one answer: ``first``, the paced ``pieces``, then ``tail``."""

    __slots__ = ("base", "first", "pieces", "tail")

    def __init__(self, answer: Answer, model: str, prompt: int, include_usage: bool) -> None:
        base: dict[str, Any] = {
            "id": answer.id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": FINGERPRINT,
        }
        if include_usage:
            base["usage"] = None
        self.base = base
        if answer.tool_calls:
            deltas = self._tool_deltas(answer)
            self.first = self.delta(deltas[0])
            self.pieces = [self.delta(d) for d in deltas[1:]]
        else:
            self.first = self.delta({"role": "assistant", "content": "", "refusal": None})
            self.pieces = [self.delta({"content": p}) for p in _pieces(answer.content or "")]
        tail = [self.delta({}, answer.finish_reason)]
        if include_usage:
            tail.append(self.event([], usage=usage(prompt, answer.completion_tokens)))
        tail.append(DONE)
        self.tail = tail

    def event(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        return b"data: " + dumps({**self.base, "choices": choices, **extra}) + b"\n\n"

    def delta(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return self.event([{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}])

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
