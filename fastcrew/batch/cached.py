"""``fastcrew batch --cache PATH``: the response cache checked before the run, and its
summary section (docs/cache.md)."""

from __future__ import annotations

from typing import Any

__all__ = ["cache_section", "check_cache"]


def check_cache(path: str) -> None:
    """Open and close the cache file (made if missing) before any worker starts: a damaged
    file or another program's database raises ``CacheFileError`` (exit 2, nothing ran)."""
    from ..cache import ResponseCache

    ResponseCache(path).close()


def cache_section(path: str, hits: int, misses: int, saved_usd: float) -> dict[str, Any]:
    """The summary's ``cache``: this run's calls answered from the cache (``hits``: no
    request, no cost), the calls sent and stored (``misses``), and what the hits would
    have cost (``saved_usd``)."""
    return {"path": path, "hits": hits, "misses": misses, "saved_usd": round(saved_usd, 10)}
