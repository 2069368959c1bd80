"""A request's cache key: a digest of the endpoint and everything in the body that decides
the answer.

- **The endpoint** is normalised to scheme, host, port (a default port dropped), path (no
  trailing ``/``) and query (sorted, credential-looking parameters dropped). User info,
  fragments and the API key are not part of it: two keys of one account share answers.
- **The body** is keyed whole, as canonical JSON (sorted keys at every depth), except the
  fields in :data:`EXCLUDED_FIELDS`, which change how or to whom an answer is delivered but
  not the answer. ``n``, ``logprobs``, ``service_tier`` and every unknown field stay keyed:
  a field wrongly keyed costs a miss, a field wrongly dropped returns a wrong answer.
- **Top-level nulls** are dropped (a provider reads ``"seed": null`` as no seed), and a
  top-level float with an integral value is keyed as the integer (``temperature=1`` and
  ``1.0`` are one request). Deeper values are keyed as they are.

A streaming and a non-streaming request of one body share a key (``stream`` and
``stream_options`` are excluded): the stored value is the non-streaming answer, from which
the LLM layer replays a stream.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastcrew._json import dumps_canonical

__all__ = ["CREDENTIAL_QUERY_PARAMS", "EXCLUDED_FIELDS", "KEY_SIZE", "normalize_endpoint",
           "request_key"]  # fmt: skip

KEY_SIZE = 16
"""Bytes in a key (blake2b-128)."""

EXCLUDED_FIELDS: frozenset[str] = frozenset(
    {
        "stream",  # a stream is replayed from the stored whole answer
        "stream_options",  # include_usage: how usage is delivered, not what
        "user",  # an end-user id for abuse monitoring
        "safety_identifier",  # its successor
        "metadata",  # tags for the provider's dashboard (with ``store``)
        "store",  # whether the provider keeps the completion
        "prompt_cache_key",  # a routing hint for the provider's own prompt cache
    }
)
"""Body fields that do not decide the answer and are left out of the key."""

CREDENTIAL_QUERY_PARAMS: frozenset[str] = frozenset(
    {"key", "api_key", "api-key", "apikey", "access_token", "token", "sig", "signature", "code"}
)
"""Query parameters (lower-cased) dropped from the endpoint: they carry credentials."""

_DEFAULT_PORTS = {"http": 80, "https": 443}
_PERSON = b"fastcrew.cache.1"  # the key format's version: a change here changes every key


@lru_cache(maxsize=256)
def normalize_endpoint(endpoint: str) -> str:
    """``endpoint`` as keyed: ``scheme://host[:port]/path[?sorted query]``, lower-case scheme
    and host, without user info, fragment, default port, trailing ``/`` or credentials."""
    parts = urlsplit(endpoint.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    query = sorted(
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name.lower() not in CREDENTIAL_QUERY_PARAMS
    )
    path = parts.path.rstrip("/")
    return f"{scheme}://{host}{path}" + (f"?{urlencode(query)}" if query else "")


def _significant(body: Mapping[str, Any]) -> dict[str, Any]:
    keyed: dict[str, Any] = {}
    for name, value in body.items():
        if value is None or name in EXCLUDED_FIELDS:
            continue
        if type(value) is float and value.is_integer():
            value = int(value)
        keyed[name] = value
    return keyed


def request_key(endpoint: str, body: Mapping[str, Any]) -> bytes:
    """The :data:`KEY_SIZE`-byte key of a chat request: blake2b of the normalised endpoint
    and the canonical JSON of ``body`` without :data:`EXCLUDED_FIELDS`."""
    where = normalize_endpoint(endpoint).encode()
    digest = hashlib.blake2b(digest_size=KEY_SIZE, person=_PERSON)
    digest.update(len(where).to_bytes(4, "big"))
    digest.update(where)
    digest.update(dumps_canonical(_significant(body)))
    return digest.digest()
