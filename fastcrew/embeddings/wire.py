"""OpenAI's embeddings wire: the request body, the answer's vectors and usage, float32 blobs.

Vectors are ``array('f')``: 4 bytes a dimension (a Python list of floats takes ~32). Asked
for as ``encoding_format="base64"`` — little-endian float32, a third of the JSON floats'
size and decoded without parsing a number — and read as float lists from servers that
answer with those anyway.
"""

from __future__ import annotations

import binascii
import sys
from array import array
from collections.abc import Mapping, Sequence
from typing import Any, cast

from .._json import JSONDecodeError, dumps, loads
from ..llm.wire import malformed_response

__all__ = ["Vector", "from_blob", "parse_embeddings", "request_body", "to_blob"]

Vector = array
"""One embedding: ``array('f')`` (float32)."""
_SWAP = sys.byteorder == "big"
_a2b_base64 = binascii.a2b_base64


def request_body(model: str, texts: Sequence[str], dimensions: int | None, base64: bool) -> bytes:
    """The JSON body embedding ``texts`` (in order) with ``model``."""
    body: dict[str, Any] = {"model": model, "input": list(texts)}
    if base64:
        body["encoding_format"] = "base64"
    if dimensions is not None:
        body["dimensions"] = dimensions
    return dumps(body)


def from_blob(blob: bytes) -> Vector:
    """A vector from its little-endian float32 bytes (a base64-decoded answer, a stored row)."""
    vector = array("f")
    vector.frombytes(blob)
    if _SWAP:
        vector.byteswap()
    return vector


def to_blob(vector: Vector) -> bytes:
    """A vector's little-endian float32 bytes (what :func:`from_blob` reads)."""
    if not _SWAP:
        return vector.tobytes()
    swapped = array("f", vector)
    swapped.byteswap()
    return swapped.tobytes()


def _vector(value: Any, request_id: str | None) -> Vector:
    if isinstance(value, str):
        try:  # what ``b64decode(value, validate=True)`` does, without its wrapper's checks
            raw = _a2b_base64(value, strict_mode=True)
        except (binascii.Error, ValueError):
            raise malformed_response("an embedding is not valid base64", request_id) from None
        if len(raw) % 4:
            raise malformed_response("a base64 embedding is not float32s", request_id)
        return from_blob(raw)
    if isinstance(value, list):
        try:
            return array("f", value)
        except TypeError:
            raise malformed_response("an embedding holds non-numbers", request_id) from None
    raise malformed_response("an embedding is neither base64 nor a list", request_id)


def parse_embeddings(
    body: bytes, headers: Mapping[str, str], count: int
) -> tuple[list[Vector], int | None]:
    """The ``count`` vectors of a 2xx answer, in input order (by each item's ``index``), and
    its ``usage.prompt_tokens`` (None when not reported)."""
    request_id = headers.get("x-request-id")
    try:
        data = loads(body)
        items = data["data"]
    except JSONDecodeError:
        raise malformed_response("body is not valid JSON", request_id) from None
    except (KeyError, TypeError):
        raise malformed_response("no 'data' list in the body", request_id) from None
    if not isinstance(items, list) or len(items) != count:
        got = len(items) if isinstance(items, list) else "no"
        raise malformed_response(f"{got} embeddings for {count} inputs", request_id)
    vectors: list[Vector | None] = [None] * count
    for position, item in enumerate(items):
        index = item.get("index", position) if isinstance(item, dict) else None
        if not isinstance(index, int) or not 0 <= index < count or vectors[index] is not None:
            raise malformed_response("embedding indexes are not 0..n-1", request_id)
        vectors[index] = _vector(item.get("embedding"), request_id)
    usage = data.get("usage")
    tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    # Every index 0..count-1 was filled exactly once.
    return cast(list[Vector], vectors), tokens if isinstance(tokens, int) else None
