"""Deterministic sample instances of a JSON schema (the ``json_schema`` answers).

Covers what structured-output schemas use, as pydantic's ``model_json_schema()`` emits
them: ``type`` (also lists such as ``["string", "null"]``), object ``properties`` /
``required`` / ``additionalProperties`` / ``minProperties``, array ``items`` /
``prefixItems`` / ``minItems`` / ``maxItems`` / ``uniqueItems``, ``enum``, ``const``, string
``minLength`` / ``maxLength`` / ``format`` (date, date-time, time, duration, email, uri,
uuid, ipv4, ipv6, hostname), numeric bounds (inclusive and exclusive) and ``multipleOf``,
``anyOf`` / ``oneOf`` (first non-null option), ``allOf`` (merged) and local ``$ref``
(``#/$defs/…``, ``#/definitions/…``, any ``#/…`` pointer). ``pattern`` is not honoured.

An object schema without ``properties`` gets one ``key1`` entry (a ``dict[str, X]``
field); ``"properties": {}`` gives ``{}``.
Beyond ``SOFT_DEPTH`` nested objects/arrays only required properties, the minimum number of
items and the null option of a union are produced, so recursive models terminate.
Free-form strings carry the answer's digest tag; the first one also carries the echo text.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["SCHEMA_ERRORS", "SOFT_DEPTH", "sample_instance"]

SOFT_DEPTH = 6
SCHEMA_ERRORS = (KeyError, ValueError, IndexError, TypeError, RecursionError)
"""What :func:`sample_instance` raises on a schema it cannot follow."""
_MAX_NODES = 20_000
_DEFAULT_ITEMS = 2


def sample_instance(schema: Any, text: str, digest: str) -> Any:
    """A value valid against ``schema``; a pure function of its arguments.

    ``text`` is the first free-form string; ``digest`` (hex) tags the other strings and
    seeds the choice of numbers, booleans and enum members.
    """
    return _Sampler(schema, text, digest).sample(schema, 0, None)


def _merge(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for sub in schemas:
        for key, value in sub.items():
            if key == "properties" and key in merged:
                merged[key] = {**merged[key], **value}
            elif key == "required" and key in merged:
                merged[key] = [*merged[key], *(r for r in value if r not in merged[key])]
            else:
                merged.setdefault(key, value)
    return merged


class _Sampler:
    def __init__(self, root: Any, text: str, digest: str) -> None:
        self.root = root
        self.text = text
        self.tag = digest[:8]
        self.seed = int(digest[:16], 16)
        self.counter = 0
        self.nodes = 0
        self.text_used = False

    def _next(self) -> int:
        self.counter += 1
        return (self.seed >> (self.counter % 48)) + self.counter * 7

    def resolve(self, ref: str) -> Any:
        if not ref.startswith("#"):
            raise ValueError(f"only local $ref are supported, got {ref!r}")
        node = self.root
        for part in ref[1:].split("/")[1:] if ref != "#" else []:
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def sample(self, schema: Any, depth: int, key: str | None) -> Any:
        self.nodes += 1
        if self.nodes > _MAX_NODES:
            return None
        if schema is True or schema == {}:
            return self._string({}, key)
        if not isinstance(schema, dict):
            return None
        if "$ref" in schema:
            target = self._deref(schema)
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            return self.sample(_merge([target, rest]) if rest else target, depth, key)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            options = schema["enum"]
            return options[self._next() % len(options)]
        if "allOf" in schema:
            parts = [self._deref(s) for s in schema["allOf"]]
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            return self.sample(_merge([rest, *parts]), depth, key)
        for union in ("anyOf", "oneOf"):
            if schema.get(union):
                return self.sample(self._pick(schema[union], depth), depth, key)
        return self._typed(schema, self._type(schema, depth), depth, key)

    def _deref(self, schema: Any) -> Any:
        """Follow a chain of ``$ref`` to a schema; a cycle of bare refs allows any value."""
        seen: set[str] = set()
        while isinstance(schema, dict) and "$ref" in schema:
            ref = schema["$ref"]
            if ref in seen:
                return {}
            seen.add(ref)
            schema = self.resolve(ref)
        return schema

    def _pick(self, options: list[Any], depth: int) -> Any:
        def is_null(option: Any) -> bool:
            return isinstance(option, dict) and option.get("type") == "null"

        if depth >= SOFT_DEPTH:
            for option in options:
                if is_null(option):
                    return option
        for option in options:
            if not is_null(option):
                return option
        return options[0]

    def _type(self, schema: dict[str, Any], depth: int) -> str:
        kind = schema.get("type")
        if isinstance(kind, list):
            if depth >= SOFT_DEPTH and "null" in kind:
                return "null"
            kind = next((k for k in kind if k != "null"), "null")
        if isinstance(kind, str):
            return kind
        if any(k in schema for k in ("properties", "additionalProperties", "required")):
            return "object"
        if "items" in schema or "prefixItems" in schema:
            return "array"
        return "string"

    def _typed(self, schema: dict[str, Any], kind: str, depth: int, key: str | None) -> Any:
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, depth, key)
        if kind == "integer":
            return self._integer(schema)
        if kind == "number":
            return self._number(schema)
        if kind == "boolean":
            return bool(self._next() & 1)
        if kind == "null":
            return None
        return self._string(schema, key)

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties: dict[str, Any] = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        shallow = depth < SOFT_DEPTH
        out = {
            name: self.sample(sub, depth + 1, name)
            for name, sub in properties.items()
            if shallow or name in required
        }
        extra = schema.get("additionalProperties", True)
        wanted = schema.get("minProperties", 0)
        if "properties" not in schema and extra is not False and shallow:
            wanted = max(wanted, 1)
        index = 0
        while len(out) < wanted and extra is not False:
            index += 1
            name = f"key{index}"
            if name not in out:
                sub = extra if isinstance(extra, dict) else {}
                out[name] = self.sample(sub, depth + 1, name)
        return out

    def _array(self, schema: dict[str, Any], depth: int, key: str | None) -> list[Any]:
        prefix: list[Any] = schema.get("prefixItems") or []
        items = schema.get("items", {} if not prefix else False)
        low = schema.get("minItems", 0)
        high = schema.get("maxItems", math.inf)
        if depth >= SOFT_DEPTH:
            count = low
        elif items is False:
            count = max(low, len(prefix))
        else:
            count = max(low, len(prefix), min(high, _DEFAULT_ITEMS))
        count = min(count, high)
        out: list[Any] = []
        seen: set[str] = set()
        attempts = 0
        while len(out) < count and attempts < count * 4 + 4:
            attempts += 1
            i = len(out)
            sub = prefix[i] if i < len(prefix) else (items if isinstance(items, dict) else {})
            value = self.sample(sub, depth + 1, key)
            if schema.get("uniqueItems"):
                marker = repr(value)
                if marker in seen:
                    continue
                seen.add(marker)
            out.append(value)
        return out

    def _string(self, schema: dict[str, Any], key: str | None) -> str:
        fmt = schema.get("format")
        n = self._next()
        if fmt == "date":
            value = f"2024-{n % 12 + 1:02d}-{n % 28 + 1:02d}"
        elif fmt == "date-time":
            value = f"2024-{n % 12 + 1:02d}-{n % 28 + 1:02d}T{n % 24:02d}:{n % 60:02d}:00Z"
        elif fmt == "time":
            value = f"{n % 24:02d}:{n % 60:02d}:00"
        elif fmt == "duration":
            value = f"PT{n % 3600 + 1}S"
        elif fmt in ("email", "idn-email"):
            value = f"sim-{self.tag}@example.com"
        elif fmt in ("uri", "url", "iri", "uri-reference", "iri-reference"):
            value = f"https://example.com/{self.tag}"
        elif fmt == "uuid":
            h = f"{self.seed:016x}{n & 0xFFFFFFFFFFFFFFFF:016x}"
            value = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"
        elif fmt == "ipv4":
            value = f"127.0.{n % 256}.{n // 256 % 256}"
        elif fmt == "ipv6":
            value = "::1"
        elif fmt in ("hostname", "idn-hostname"):
            value = f"sim-{self.tag}.example.com"
        elif not self.text_used:
            self.text_used = True
            value = self.text
        else:
            value = f"{key or 'value'} {self.tag}"
        low = schema.get("minLength", 0)
        high = schema.get("maxLength")
        if len(value) < low:
            value += "-" * (low - len(value))
        if high is not None and len(value) > high:
            value = value[:high]
        return value

    def _integer(self, schema: dict[str, Any]) -> int:
        lo, hi, ex_lo, ex_hi = _bounds(schema)
        low = None if lo is None else math.ceil(lo)
        high = None if hi is None else math.floor(hi)
        if ex_lo is not None:
            low = max(low if low is not None else -math.inf, math.floor(ex_lo) + 1)
        if ex_hi is not None:
            high = min(high if high is not None else math.inf, math.ceil(ex_hi) - 1)
        base = self._next() % 100
        if low is not None and high is not None:
            value = low + base % (high - low + 1) if high >= low else low
        elif low is not None:
            value = low + base
        elif high is not None:
            value = min(base, high)
        else:
            value = base
        step = schema.get("multipleOf")
        if step:
            up = math.ceil(value / step) * step
            value = up if high is None or up <= high else math.floor(value / step) * step
        return int(value)

    def _number(self, schema: dict[str, Any]) -> float:
        if schema.get("multipleOf"):
            return float(self._integer(schema))
        lo, hi, ex_lo, ex_hi = _bounds(schema)
        lower = max((b for b in (lo, ex_lo) if b is not None), default=None)
        upper = min((b for b in (hi, ex_hi) if b is not None), default=None)
        base = self._next() % 100
        if lower is not None and upper is not None:
            return lower + (upper - lower) * (base + 0.5) / 100
        if lower is not None:
            return lower + base + 0.5
        if upper is not None:
            return min(base + 0.5, upper - 0.5)
        return base + 0.5


def _bounds(schema: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    """(minimum, maximum, exclusiveMinimum, exclusiveMaximum), draft-4 booleans normalised."""
    lo, hi = schema.get("minimum"), schema.get("maximum")
    ex_lo, ex_hi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if ex_lo is True:
        lo, ex_lo = None, lo
    elif ex_lo is False:
        ex_lo = None
    if ex_hi is True:
        hi, ex_hi = None, hi
    elif ex_hi is False:
        ex_hi = None
    return lo, hi, ex_lo, ex_hi
