"""The knowledge arguments of ``Agent`` and ``Crew``, checked once for both: field types
whose validator names the model (``Agent knowledge_sources must be ...``).

- :data:`KnowledgeSources` — CrewAI's ``knowledge_sources``: source objects, or dicts with a
  ``source_type`` (made into sources);
- :data:`EmbedderSpec` — CrewAI's ``embedder=`` dict (or a fastcrew ``EmbedderConfig`` /
  ``Embedder``), resolved when first used;
- :data:`KnowledgeStorageSpec` — CrewAI's ``knowledge_storage=``: a storage of your own.

Nothing here imports a source, a storage or an embedder before a value needs checking.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationInfo

from ..errors import ConfigurationError

__all__ = [
    "EmbedderSpec",
    "KnowledgeSources",
    "KnowledgeStorageSpec",
    "check_embedder",
    "check_knowledge",
    "check_knowledge_sources",
    "check_knowledge_storage",
    "embedder_key",
]


def _owner(info: ValidationInfo) -> str:
    """The model being validated (``Agent``, ``Crew``), for messages."""
    return str((info.config or {}).get("title") or "knowledge")


def check_knowledge_sources(value: Any, owner: str) -> list[Any] | None:
    """CrewAI's ``knowledge_sources``: knowledge source objects, or dicts with a
    ``source_type`` (made into sources); anything else fails here."""
    if value is None:
        return None
    from .knowledge import resolve_knowledge_sources
    from .source.base_knowledge_source import BaseKnowledgeSource

    items: list[Any] = resolve_knowledge_sources(
        list(value) if isinstance(value, list | tuple) else [value]
    )
    for item in items:
        if not isinstance(item, BaseKnowledgeSource):
            raise ConfigurationError(
                f"{owner} knowledge_sources must be knowledge sources "
                f"(fastcrew.knowledge.source), not {type(item).__name__}"
            )
    return items


def check_embedder(value: Any, owner: str) -> Any:
    """CrewAI's ``embedder=``: a dict like ``{"provider": "openai", "config": {...}}`` (or a
    fastcrew ``EmbedderConfig`` / ``Embedder``); resolved when first used."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        from ..embeddings.config import PROVIDERS

        if value.get("provider") not in PROVIDERS:
            raise ConfigurationError(
                f"{owner} embedder must name a provider among {', '.join(map(repr, PROVIDERS))}"
                f' (got {value.get("provider")!r}): {{"provider": "openai", "config": {{...}}}}'
            )
        return dict(value)
    from ..embeddings import Embedder, EmbedderConfig

    if isinstance(value, Embedder | EmbedderConfig):
        return value
    raise ConfigurationError(
        f"{owner} embedder must be a dict such as "
        f'{{"provider": "openai", "config": {{"model": ...}}}}, not {type(value).__name__}'
    )


def check_knowledge_storage(value: Any, owner: str) -> Any:
    """CrewAI's ``knowledge_storage=``: a ``BaseKnowledgeStorage``, or any object with
    ``asearch`` and ``asave`` (what a crew's run calls)."""
    if value is None:
        return None
    if not all(callable(getattr(value, name, None)) for name in ("asearch", "asave")):
        raise ConfigurationError(
            f"{owner} knowledge_storage must be a BaseKnowledgeStorage "
            "(fastcrew.knowledge.storage.base_knowledge_storage) or have async asearch and "
            f"asave methods, not {type(value).__name__}"
        )
    return value


def check_knowledge(value: Any, owner: str) -> Any:
    """``knowledge=``: None or a :class:`~fastcrew.knowledge.Knowledge`."""
    if value is None:
        return None
    from .knowledge import Knowledge

    if not isinstance(value, Knowledge):
        raise ConfigurationError(
            f"{owner} knowledge must be a fastcrew.knowledge.Knowledge, not {type(value).__name__}"
        )
    return value


def embedder_key(embedder: Any) -> str:
    """A key telling embedder settings apart (equal dicts, equal keys)."""
    if embedder is None or isinstance(embedder, Mapping):
        return json.dumps(embedder, sort_keys=True, default=repr)
    return f"object:{id(embedder)}"


KnowledgeSources = Annotated[
    list[Any] | None,
    BeforeValidator(lambda value, info: check_knowledge_sources(value, _owner(info))),
]
"""``knowledge_sources``: sources checked (and dicts made into sources) at construction."""

EmbedderSpec = Annotated[
    Any, BeforeValidator(lambda value, info: check_embedder(value, _owner(info)))
]
"""``embedder``: CrewAI's dict, checked at construction, resolved at first use."""

KnowledgeStorageSpec = Annotated[
    Any, BeforeValidator(lambda value, info: check_knowledge_storage(value, _owner(info)))
]
"""``knowledge_storage``: a storage of your own, checked at construction."""
