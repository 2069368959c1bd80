"""Knowledge storage at CrewAI's paths: :class:`BaseKnowledgeStorage` (the interface,
``base_knowledge_storage``), :class:`KnowledgeStorage` (a collection as a vector table,
``knowledge_storage``; its store's folder ``STORE_NAME``) and the default-storage factory
(``factory``)."""

from .base_knowledge_storage import BaseKnowledgeStorage, SearchResult
from .knowledge_storage import STORE_NAME, KnowledgeStorage

__all__ = ["STORE_NAME", "BaseKnowledgeStorage", "KnowledgeStorage", "SearchResult"]
