"""Looking around a memory (CrewAI's ``list_scopes``, ``list_records``, ``info``, ``tree``,
``list_categories``) at an absolute path, computed from the records under it read in one
scan (at most :data:`~.records.SCAN_LIMIT`), after the memory's background saves."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from .records import SCAN_LIMIT, from_row
from .scopes import normalize_scope_path, scope_where
from .types import MemoryRecord, ScopeInfo

if TYPE_CHECKING:
    from .unified_memory import Memory

__all__ = [
    "ainfo",
    "aknown",
    "alist_categories",
    "alist_records",
    "alist_scopes",
    "arecords_under",
    "atree",
    "child_scopes",
    "scope_info",
]

TREE_CHILDREN = 20
"""Child scopes shown per level of a tree (CrewAI's)."""


def _under(path: str, scope: str) -> bool:
    return path == "/" or scope == path or scope.startswith(path + "/")


def child_scopes(scopes: Iterable[str], path: str) -> list[str]:
    """The immediate children of ``path`` among ``scopes`` (sorted)."""
    path = normalize_scope_path(path)
    prefix = "/" if path == "/" else path + "/"
    children = {
        prefix + scope[len(prefix) :].split("/", 1)[0]
        for scope in scopes
        if scope.startswith(prefix) and len(scope) > len(prefix)
    }
    return sorted(children)


def scope_info(records: Sequence[MemoryRecord], path: str) -> ScopeInfo:
    """:class:`ScopeInfo` of ``path`` from ``records`` (those under it count)."""
    path = normalize_scope_path(path)
    inside = [r for r in records if _under(path, r.scope)]
    times = [r.created_at for r in inside]
    return ScopeInfo(
        path=path,
        record_count=len(inside),
        categories=sorted({c for r in inside for c in r.categories}),
        oldest_record=min(times) if times else None,
        newest_record=max(times) if times else None,
        child_scopes=child_scopes((r.scope for r in inside), path),
    )


def scope_tree(records: Sequence[MemoryRecord], path: str, max_depth: int) -> str:
    """Each scope under ``path`` to ``max_depth`` levels, indented two spaces a level, with
    its record count (``/a (3 records)``)."""
    lines: list[str] = []

    def walk(node: str, inside: list[MemoryRecord], depth: int) -> None:
        lines.append(f"{'  ' * depth}{node} ({len(inside)} records)")
        if depth < max_depth:
            for child in child_scopes((r.scope for r in inside), node)[:TREE_CHILDREN]:
                walk(child, [r for r in inside if _under(child, r.scope)], depth + 1)

    root = normalize_scope_path(path)
    walk(root, [r for r in records if _under(root, r.scope)], 0)
    return "\n".join(lines)


async def arecords_under(
    memory: Memory, path: str, *, drain: bool = True, limit: int | None = SCAN_LIMIT
) -> list[MemoryRecord]:
    """The records under ``path`` (storage order; at most ``limit``, None: all), after the
    background saves (``drain``)."""
    if drain:
        await memory.adrain_writes()
    rows = await memory.table.ascan(where=scope_where(path), limit=limit)
    return [from_row(r) for r in rows]


async def aknown(memory: Memory, root: str | None) -> tuple[list[str], list[str]]:
    """The scopes and categories in use under ``root``, for a save's analysis."""
    records = await arecords_under(memory, normalize_scope_path(root), drain=False)
    return sorted({r.scope for r in records}), sorted({c for r in records for c in r.categories})


async def alist_scopes(memory: Memory, path: str) -> list[str]:
    return child_scopes((r.scope for r in await arecords_under(memory, path)), path)


async def alist_records(memory: Memory, path: str, limit: int, offset: int) -> list[MemoryRecord]:
    records = await arecords_under(memory, path)
    records.sort(key=lambda r: r.created_at, reverse=True)
    return records[offset : offset + limit]


async def ainfo(memory: Memory, path: str) -> ScopeInfo:
    return scope_info(await arecords_under(memory, path), path)


async def atree(memory: Memory, path: str, max_depth: int) -> str:
    return scope_tree(await arecords_under(memory, path), path, max_depth)


async def alist_categories(memory: Memory, path: str) -> dict[str, int]:
    records = await arecords_under(memory, path)
    return dict(Counter(c for r in records for c in r.categories))
