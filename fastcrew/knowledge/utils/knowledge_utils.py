"""``extract_knowledge_context``: search results as the text appended to a task prompt
(CrewAI's, at its path)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["extract_knowledge_context"]


def extract_knowledge_context(snippets: Sequence[Any] | None) -> str:
    """``"Additional Information: "`` and the contents found, one per line (CrewAI's text);
    results without content (and None) are skipped; empty when nothing is left."""
    found = [s["content"] for s in snippets or () if s and s.get("content")]
    return "Additional Information: " + "\n".join(found) if found else ""
