"""Knowledge as CrewAI has it: sources at ``crewai.knowledge.source``'s paths (strings, text,
PDF, CSV, JSON and Excel files), each loaded once and cut into overlapping character windows;
:class:`Knowledge` (sources and their storage), :class:`KnowledgeConfig` (how much retrieval
brings back), and the storage package at CrewAI's paths: :class:`BaseKnowledgeStorage` (the
interface a storage of your own implements), :class:`KnowledgeStorage` (a collection in the
vector store) and the default-storage factory. See docs/knowledge.md.

A source hands a storage layer its chunks with a content hash each
(:meth:`~fastcrew.knowledge.source.base_knowledge_source.BaseKnowledgeSource.knowledge_chunks`),
so chunks already embedded are skipped. PDF and Excel readers need the ``knowledge`` extra
(``pip install 'fastcrew[knowledge]'``), imported only when such a source is built. The
names below load on first use: importing a source loads no storage. ``fields`` holds the
knowledge arguments ``Agent`` and ``Crew`` share.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

__all__ = [
    "BaseKnowledgeStorage",
    "Knowledge",
    "KnowledgeConfig",
    "KnowledgeStorage",
    "extract_knowledge_context",
]

_LAZY = {
    "BaseKnowledgeStorage": "fastcrew.knowledge.storage.base_knowledge_storage",
    "Knowledge": "fastcrew.knowledge.knowledge",
    "KnowledgeConfig": "fastcrew.knowledge.knowledge_config",
    "KnowledgeStorage": "fastcrew.knowledge.storage.knowledge_storage",
    "extract_knowledge_context": "fastcrew.knowledge.utils.knowledge_utils",
}

if TYPE_CHECKING:
    from .knowledge import Knowledge
    from .knowledge_config import KnowledgeConfig
    from .storage.base_knowledge_storage import BaseKnowledgeStorage
    from .storage.knowledge_storage import KnowledgeStorage
    from .utils.knowledge_utils import extract_knowledge_context

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
