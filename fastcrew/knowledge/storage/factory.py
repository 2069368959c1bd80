"""The process-wide default knowledge storage (CrewAI's ``set_knowledge_storage_factory``).

A :class:`~fastcrew.knowledge.knowledge.Knowledge` built without ``storage=`` asks the
registered factory first, with its embedder and collection name; the factory returns a
storage, or None to leave it to the built-in
:class:`~fastcrew.knowledge.storage.knowledge_storage.KnowledgeStorage`. An explicit
``storage=`` never consults it. Meant to be set once, at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = [
    "KnowledgeStorageFactory",
    "resolve_knowledge_storage",
    "set_knowledge_storage_factory",
]

KnowledgeStorageFactory = Callable[[Any, "str | None"], Any]
"""``(embedder, collection_name) -> storage or None``."""

_factory: KnowledgeStorageFactory | None = None


def set_knowledge_storage_factory(factory: KnowledgeStorageFactory | None) -> None:
    """Register ``factory`` for the ``Knowledge`` objects built from now on (None: back to
    the built-in ``KnowledgeStorage``)."""
    global _factory
    _factory = factory


def resolve_knowledge_storage(embedder: Any, collection_name: str | None) -> Any:
    """The registered factory's storage for this embedder and collection, or None (no
    factory, or it declined)."""
    factory = _factory
    return None if factory is None else factory(embedder, collection_name)
