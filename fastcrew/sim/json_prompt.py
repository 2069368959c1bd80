"""Find the shape a ``json_object`` answer should have in the prompt.

Messages are searched in this order: system / developer messages first to last, then user
messages last to first (at most the first ``MAX_SCAN_CHARS`` characters of each). The first
pattern found wins, tried in this order over all those messages:

1. **A JSON schema**: a JSON object in the text with ``properties``, ``$defs``, ``$schema`` or
   ``"type": "object"`` (instructor's JSON modes, CrewAI's "adheres to the following … schema").
   Envelopes are unwrapped: ``{"json_schema": {"schema": S}}``, ``{"schema": S}``,
   ``{"parameters": S}``.
2. **Typed fields**: ``"name": str`` lines inside braces (CrewAI's older output format; Python
   type names str / int / float / bool / list / dict / datetime, ``Optional[X]``, ``list[X]``).
3. **A JSON example**: any other JSON object with at least one key — the answer has the same
   keys, each value of the same JSON type as the example's.
4. **A list of keys**: a line with the word keys / fields / properties / attributes followed by
   a colon and names separated by commas / "and" / "or" / ", and" (quotes and backticks
   allowed; the list ends at the line's first sentence end — "keys: a, b. Be concise." — or
   at the first words that are not a name — "keys: a, b and nothing else"), or,
   when nothing follows the colon, by the lines under it that each start with a name
   (``- name``, ``* `name`: …``, ``1. name``, ``name (what it holds),``).

Nothing found → None (the answer keeps the fixed ``{"answer", "digest"}`` shape).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from .request import message_text

__all__ = ["MAX_SCAN_CHARS", "find_json_shape"]

MAX_SCAN_CHARS = 200_000
_DECODER = json.JSONDecoder()
_TYPED = re.compile(
    r"[\"']([A-Za-z_][\w\- ]{0,63})[\"']\s*:\s*([A-Za-z][\w\[\], |.]*?)\s*(?=[,\n}])"
)
_KEYS_LINE = re.compile(
    r"\b(?:keys|fields|properties|attributes)\b[^:\n{}]{0,40}:[ \t]*([^\n]*)", re.IGNORECASE
)
_BULLET = re.compile(
    r"^[ \t]*(?:(?:[-*•]|\d+[.)])[ \t]+)?[`\"']?([A-Za-z_][\w-]{0,63})[`\"']?[ \t]*(?:[:(,=-]|$)"
)
_IDENT = re.compile(r"[A-Za-z_][\w-]{0,63}")
_SEPARATORS = re.compile(r"\s*,\s*(?:and|or)\s+|\s*,\s*|\s+and\s+|\s+or\s+|\s*;\s*")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
_NAME_TOKEN = re.compile(r"([`\"']?)([A-Za-z_][\w-]{0,63})\1\s*(.*)", re.DOTALL)
_PY_TYPES = {
    "str": {"type": "string"},
    "string": {"type": "string"},
    "int": {"type": "integer"},
    "integer": {"type": "integer"},
    "float": {"type": "number"},
    "number": {"type": "number"},
    "bool": {"type": "boolean"},
    "boolean": {"type": "boolean"},
    "dict": {"type": "object"},
    "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
}
_JSON_TYPES = {str: "string", bool: "boolean", int: "integer", float: "number"}


def _texts(messages: Sequence[dict[str, Any]]) -> list[str]:
    system = [m for m in messages if m.get("role") in ("system", "developer")]
    users = [m for m in reversed(messages) if m.get("role") == "user"]
    return [message_text(m.get("content"))[:MAX_SCAN_CHARS] for m in (*system, *users)]


def _objects(text: str) -> Iterator[dict[str, Any]]:
    """Top-level JSON objects embedded in ``text``."""
    i = text.find("{")
    while i >= 0:
        try:
            value, end = _DECODER.raw_decode(text, i)
        except ValueError:
            i = text.find("{", i + 1)
            continue
        if isinstance(value, dict):
            yield value
        i = text.find("{", end)


def _unwrap(value: dict[str, Any]) -> dict[str, Any] | None:
    for _ in range(3):
        spec = value.get("json_schema")
        if isinstance(spec, dict) and isinstance(spec.get("schema"), dict):
            value = spec["schema"]
            continue
        for key in ("schema", "parameters"):
            if isinstance(value.get(key), dict) and "properties" not in value:
                value = value[key]
                break
        else:
            break
    if isinstance(value.get("properties"), dict) or "$defs" in value or "$schema" in value:
        return value
    if value.get("type") == "object":
        return value
    return None


def _python_type(text: str) -> dict[str, Any]:
    text = text.strip()
    lowered = text.lower()
    if lowered.startswith("optional[") and text.endswith("]"):
        return _python_type(text[9:-1])
    if "|" in text:
        parts = [p for p in text.split("|") if p.strip().lower() not in ("none", "null")]
        return _python_type(parts[0]) if parts else {"type": "string"}
    if lowered.startswith(("list[", "set[", "tuple[")) and text.endswith("]"):
        return {"type": "array", "items": _python_type(text[text.index("[") + 1 : -1])}
    if lowered in ("list", "set", "tuple"):
        return {"type": "array", "items": {"type": "string"}}
    if lowered.startswith("dict["):
        return {"type": "object"}
    return dict(_PY_TYPES.get(lowered, {"type": "string"}))


def _typed_fields(text: str) -> dict[str, Any] | None:
    properties: dict[str, Any] = {}
    for match in _TYPED.finditer(text):
        kind = match.group(2)
        if kind.lower() in ("true", "false", "null", "none"):
            continue
        properties[match.group(1)] = _python_type(kind)
    if not properties:
        return None
    return {"type": "object", "properties": properties, "required": list(properties)}


def _example_schema(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        props = {str(k): _example_schema(v) for k, v in value.items()}
        return {"type": "object", "properties": props, "required": list(props)}
    if isinstance(value, list):
        return {"type": "array", "items": _example_schema(value[0]) if value else {}}
    if value is None:
        return {"type": "null"}
    return {"type": _JSON_TYPES.get(type(value), "string")}


def _key_names(line: str) -> list[str]:
    """The names of a key list's line: up to its first sentence end; a name may be followed by
    a parenthesis (kept going) or by punctuation and words (the list ends there); a phrase of
    several words ends the list without being a name."""
    end = _SENTENCE_END.search(line)
    if end is not None:
        line = line[: end.start()]
    names: list[str] = []
    for token in _SEPARATORS.split(line.strip()):
        match = _NAME_TOKEN.fullmatch(token.strip())
        if match is None:
            break
        rest = match.group(3)
        if rest[:1].isalnum():  # "nothing else", "first name": words, not a name
            break
        names.append(match.group(2))
        if rest and not (rest.startswith("(") and rest.endswith(")")):
            break  # "confidence - be brief", "`summary`: a short text"
    return names


def _key_list(text: str) -> dict[str, Any] | None:
    for match in _KEYS_LINE.finditer(text):
        names = _key_names(match.group(1))
        if not names and not match.group(1).strip():
            following = text[match.end() :].lstrip("\n").split("\n")
            for line in following:
                bullet = _BULLET.match(line)
                if bullet is None:
                    break
                names.append(bullet.group(1))
        if names:
            props = {name: {"type": "string"} for name in dict.fromkeys(names)}
            return {"type": "object", "properties": props, "required": list(props)}
    return None


def find_json_shape(messages: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """A JSON schema for the ``json_object`` answer, or None when the prompt describes none."""
    texts = [t for t in _texts(messages) if t]
    examples: list[dict[str, Any]] = []
    for text in texts:
        for value in _objects(text):
            schema = _unwrap(value)
            if schema is not None:
                return schema
            if value:
                examples.append(value)
    for text in texts:
        if "{" in text:
            typed = _typed_fields(text)
            if typed is not None:
                return typed
    if examples:
        return _example_schema(examples[0])
    for text in texts:
        keys = _key_list(text)
        if keys is not None:
            return keys
    return None
