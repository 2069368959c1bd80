"""SQL filters (LanceDB's DataFusion dialect) for ids and scopes, quoted safely."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["all_of", "ids_in", "literal", "scope_filter"]

_LAST_CHAR = "\U0010ffff"
"""Sorts after every other character: ``p <= s < p + _LAST_CHAR`` is ``s.startswith(p)``."""


def literal(value: str) -> str:
    """``value`` as an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def ids_in(ids: Sequence[str]) -> str:
    """``id IN (...)`` for ``ids`` (not empty)."""
    return "id IN (" + ", ".join(literal(i) for i in ids) + ")"


def scope_filter(scope: str | None = None, scope_prefix: str | None = None) -> str | None:
    """``scope`` exactly, or every scope starting with ``scope_prefix`` (a range, which a
    BTREE index serves); None when neither is given."""
    if scope is not None and scope_prefix is not None:
        raise ValueError("give scope or scope_prefix, not both")
    if scope is not None:
        return f"scope = {literal(scope)}"
    if scope_prefix:
        return (
            f"(scope >= {literal(scope_prefix)} AND scope < {literal(scope_prefix + _LAST_CHAR)})"
        )
    return None


def all_of(clauses: Iterable[str | None]) -> str | None:
    """The clauses joined by AND (each in parentheses); None when there is none."""
    given = [c for c in clauses if c]
    if not given:
        return None
    if len(given) == 1:
        return given[0]
    return " AND ".join(f"({c})" for c in given)
