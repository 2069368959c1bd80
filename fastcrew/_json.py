"""JSON encoding and decoding, in one place (orjson)."""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["JSONDecodeError", "dumps", "dumps_canonical", "dumps_line", "loads"]

JSONDecodeError = orjson.JSONDecodeError


def dumps(obj: Any) -> bytes:
    """Serialise ``obj`` to compact UTF-8 JSON bytes."""
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


def dumps_canonical(obj: Any) -> bytes:
    """Serialise ``obj`` with sorted keys: equal values give equal bytes (cache keys)."""
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SORT_KEYS)


def dumps_line(obj: Any) -> bytes:
    """Serialise ``obj`` as one JSONL line (with the trailing newline)."""
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE)


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse JSON; raises :data:`JSONDecodeError` (a ``ValueError``) on bad input."""
    return orjson.loads(data)
