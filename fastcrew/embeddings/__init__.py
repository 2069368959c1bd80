"""Embeddings as CrewAI's ``embedder=`` configures them, built for batches: one budget with
the LLM calls' limiters (the endpoint's own, learned from its headers), many texts per
request, and every vector kept by content — in the call, on the event loop and in an SQLite
file shared by processes and runs — so the same text is never embedded twice."""

from .batching import MAX_INPUTS, MAX_REQUEST_TOKENS
from .config import DEFAULT_OPENAI_MODEL, EmbedderConfig, embedder_config
from .embedder import Embedder, EmbedderStats
from .store import EmbeddingStore, content_key, default_store_path
from .wire import Vector

__all__ = [
    "DEFAULT_OPENAI_MODEL",
    "MAX_INPUTS",
    "MAX_REQUEST_TOKENS",
    "Embedder",
    "EmbedderConfig",
    "EmbedderStats",
    "EmbeddingStore",
    "Vector",
    "content_key",
    "default_store_path",
    "embedder_config",
]
