"""``CrewDoclingSource``: CrewAI's docling source, at its path — refused.

docling converts documents with machine-learning models: it pulls in torch and downloads its
models from the internet the first time it converts, which a batch worker must not do
mid-run. fastcrew does not support it; building one raises
:class:`~fastcrew.errors.UnsupportedFeatureError` saying what to use instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, NoReturn

from pydantic import Field, model_validator

from ...errors import UnsupportedFeatureError
from .base_knowledge_source import BaseKnowledgeSource

__all__ = ["CrewDoclingSource"]

MESSAGE = (
    "CrewDoclingSource is not supported by fastcrew: docling needs torch and downloads its "
    "models from the internet when it converts a document. Use fastcrew's sources instead "
    "(fastcrew.knowledge.source): PDFKnowledgeSource for PDF files, TextFileKnowledgeSource "
    "for text and Markdown, CSVKnowledgeSource, JSONKnowledgeSource, ExcelKnowledgeSource; "
    "convert other documents (DOCX, HTML, web pages) to text first and use "
    "TextFileKnowledgeSource or StringKnowledgeSource."
)


def _refuse() -> NoReturn:
    raise UnsupportedFeatureError(MESSAGE)


class CrewDoclingSource(BaseKnowledgeSource):
    """CrewAI's docling source: building one raises
    :class:`~fastcrew.errors.UnsupportedFeatureError` (see the module)."""

    source_type: Literal["docling"] = "docling"
    file_paths: list[Path | str] = Field(default_factory=list)

    def __init__(self, /, **data: Any) -> None:
        _refuse()

    @model_validator(mode="before")
    @classmethod
    def _unsupported(cls, data: Any) -> Any:  # model_validate, which skips __init__
        _refuse()

    def validate_content(self) -> Any:
        """Never reached: a ``CrewDoclingSource`` cannot be built."""
        _refuse()
