"""The raw JSON text of a line's top-level members (an ``id``, a ``custom_id``).

Output rows carry a row's ``id`` / ``custom_id`` exactly as the input line wrote it: parsing
and re-encoding would turn ``123456789012345678901234567890`` into ``1.2345678901234568e+29``
(orjson reads integers beyond 64 bits as floats), ``1.50`` into ``1.5`` and ``"caf\\u00e9"``
into ``"café"``. :func:`member_text` finds the member's value text in the line's bytes and
the row builders splice it into the row.

The common line costs a few C-level scans: when the key's literal (``"id"``) occurs exactly
once and no ``\\u00XX`` escape could spell a key letter, that occurrence is the top-level key
(the caller knows the parsed object has it). Anything else (the literal repeated, escaped
keys) takes a full scan of the line's top-level structure, keeping the last occurrence, as
the parser does with a duplicated key.
"""

from __future__ import annotations

import re

from .._json import JSONDecodeError, loads

__all__ = ["member_text"]

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_SCALAR = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null")
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_WS = re.compile(rb"[ \t\n\r]*")
_ASCII_ESCAPE = re.compile(rb"\\u00[2-7]")
"""A ``\\u`` escape of a printable ASCII character: it could spell a key."""


def member_text(raw: bytes, key: str) -> bytes | None:
    """The JSON text of top-level member ``key``'s value in the object on ``raw`` (one JSON
    object), exactly as written; None if it has no such member."""
    quoted = b'"' + key.encode() + b'"'
    if raw.count(quoted) == 1 and (b"\\u00" not in raw or _ASCII_ESCAPE.search(raw) is None):
        text = _value_after(raw, raw.find(quoted) + len(quoted))
        if text is not None:
            return text
    return _scan(raw, key)


def _value_after(raw: bytes, pos: int) -> bytes | None:
    """The value of the member whose key ends at ``pos`` (None if no ``:`` follows)."""
    pos = _WS.match(raw, pos).end()  # type: ignore[union-attr]  # matches the empty string
    if raw[pos : pos + 1] != b":":
        return None
    pos = _WS.match(raw, pos + 1).end()  # type: ignore[union-attr]
    end = _value_end(raw, pos)
    return None if end is None else raw[pos:end]


def _value_end(raw: bytes, pos: int) -> int | None:
    """Where the value starting at ``pos`` ends."""
    first = raw[pos : pos + 1]
    if first == b'"':
        match = _STRING.match(raw, pos)
    elif first in (b"{", b"["):
        depth = 0
        for token in _TOKEN.finditer(raw, pos):
            char = token.group()[:1]
            if char in (b"{", b"["):
                depth += 1
            elif char in (b"}", b"]"):
                depth -= 1
                if depth == 0:
                    return token.end()
        return None
    else:
        match = _SCALAR.match(raw, pos)
    return None if match is None else match.end()


def _scan(raw: bytes, key: str) -> bytes | None:
    """The slow path: walk the top level of the object, the last ``key`` member wins."""
    found: bytes | None = None
    depth = 0
    skip_to = 0
    for token in _TOKEN.finditer(raw):
        start = token.start()
        if start < skip_to:
            continue
        text = token.group()
        char = text[:1]
        if char in (b"{", b"["):
            depth += 1
        elif char in (b"}", b"]"):
            depth -= 1
        elif depth == 1:
            after = _WS.match(raw, token.end()).end()  # type: ignore[union-attr]
            if raw[after : after + 1] != b":":
                continue  # a string value, not a key
            try:
                name = loads(text)
            except JSONDecodeError:
                return found
            value_start = _WS.match(raw, after + 1).end()  # type: ignore[union-attr]
            end = _value_end(raw, value_start)
            if end is None:
                return found
            if name == key:
                found = raw[value_start:end]
            skip_to = end  # the value's own tokens are not this level's
    return found
