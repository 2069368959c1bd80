"""``StringKnowledgeSource``: knowledge given as a string."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .base_knowledge_source import BaseKnowledgeSource

__all__ = ["StringKnowledgeSource"]


class StringKnowledgeSource(BaseKnowledgeSource):
    """The text of ``content``, chunked like a file's."""

    source_type: Literal["string"] = "string"
    content: str = Field(...)

    def model_post_init(self, context: Any, /) -> None:
        """Check the content."""
        self.validate_content()

    def validate_content(self) -> None:
        """``ValueError`` unless ``content`` is a string."""
        if not isinstance(self.content, str):
            raise ValueError("StringKnowledgeSource only accepts string content")

    def document_texts(self) -> list[str]:
        """The one string."""
        return [self.content]
