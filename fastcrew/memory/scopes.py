"""Scope paths (CrewAI's): ``/crew/<crew name>/agent/<role>``, names made path-safe, and the
batch row a crew run belongs to (a context variable the batch worker sets per row)."""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "batch_row",
    "current_row",
    "join_scope_paths",
    "normalize_scope_path",
    "row_scope",
    "sanitize_scope_name",
    "scope_where",
]

_UNSAFE = re.compile(r"[^a-z0-9_-]")
_DASHES = re.compile(r"-+")
_SLASHES = re.compile(r"/+")


def sanitize_scope_name(name: str | None) -> str:
    """A name as one path segment, as CrewAI makes it: lower case, anything but letters,
    digits, ``_`` and ``-`` turned into ``-`` (runs collapsed, ends trimmed); ``unknown``
    when nothing is left."""
    if not name:
        return "unknown"
    out = _DASHES.sub("-", _UNSAFE.sub("-", name.lower().strip())).strip("-")
    return out or "unknown"


def normalize_scope_path(path: str | None) -> str:
    """``/a/b``: one leading slash, none trailing, no doubled ones; ``/`` for the root."""
    if not path or path == "/":
        return "/"
    path = _SLASHES.sub("/", path)
    if not path.startswith("/"):
        path = "/" + path
    return path.rstrip("/") or "/"


def join_scope_paths(root: str | None, inner: str | None) -> str:
    """``inner`` under ``root`` (either may be missing or ``/``)."""
    root = normalize_scope_path(root)
    inner = normalize_scope_path(inner)
    if root == "/":
        return inner
    if inner == "/":
        return root
    return root + inner


def scope_where(scope: str | None) -> str | None:
    """The SQL filter of a scope and everything under it (None for the root: all)."""
    from ..vectors.filters import scope_filter

    path = normalize_scope_path(scope)
    if path == "/":
        return None
    return f"({scope_filter(scope=path)} OR {scope_filter(scope_prefix=path + '/')})"


# -- batch rows -----------------------------------------------------------------------------

_ROW: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "fastcrew_memory_row", default=None
)


def current_row() -> int | None:
    """The input index of the batch row being run here (None outside a batch row)."""
    return _ROW.get()


@contextmanager
def batch_row(index: int) -> Iterator[None]:
    """Mark the crew runs inside as batch row ``index``: their memory lives under
    ``/row/<index>`` of the crew's scope (unless the memory is ``shared``)."""
    token = _ROW.set(index)
    try:
        yield
    finally:
        _ROW.reset(token)


def row_scope(index: int) -> str:
    """The scope segment of batch row ``index``."""
    return f"/row/{index}"
