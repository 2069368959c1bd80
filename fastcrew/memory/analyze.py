"""The LLM's part in memory, as CrewAI has it: analysing a save (scope, categories,
importance, entities / dates / topics) and extracting discrete memories from a task's
result. Answers are structured output (the pydantic models below, CrewAI's field names);
any failure falls back to CrewAI's defaults, so a memory is never lost to the LLM.

Calls go through the memory's LLM (:meth:`fastcrew.LLM.achat`): its budget, retries and
cache apply, and inside a crew run the usage is added to the run's (:func:`charging`)."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from .._json import dumps

__all__ = [
    "DEFAULT_LLM",
    "ConsolidationAction",
    "ConsolidationPlan",
    "ExtractedMemories",
    "ExtractedMetadata",
    "MemoryAnalysis",
    "QueryAnalysis",
    "aanalyze_for_save",
    "aanalyze_query",
    "aconsolidate",
    "aextract_memories",
    "charging",
]

_log = logging.getLogger(__name__)

DEFAULT_LLM = "gpt-5.4-mini"
"""A memory's LLM when none is given (nor an agent's to take)."""

M = TypeVar("M", bound=BaseModel)


class ExtractedMetadata(BaseModel):
    """Entities, dates and topics found in a memory's content."""

    model_config = ConfigDict(extra="forbid")

    entities: list[str] = Field(default_factory=list, description="People, organisations, places.")
    dates: list[str] = Field(default_factory=list, description="Dates or time references.")
    topics: list[str] = Field(default_factory=list, description="Topics or themes.")


class MemoryAnalysis(BaseModel):
    """The analysis of a memory about to be saved."""

    suggested_scope: str = Field(
        default="/", description="An existing scope path that fits, or a new one (/ for root)."
    )
    categories: list[str] = Field(
        default_factory=list, description="Categories, reusing existing ones."
    )
    importance: float = Field(default=0.5, ge=0.0, le=1.0, description="Significance, 0.0 to 1.0.")
    extracted_metadata: ExtractedMetadata = Field(default_factory=ExtractedMetadata)


class QueryAnalysis(BaseModel):
    """The analysis of a long recall query."""

    keywords: list[str] = Field(default_factory=list, description="Key entities or keywords.")
    suggested_scopes: list[str] = Field(
        default_factory=list, description="The available scopes most worth searching."
    )
    complexity: str = Field(default="simple", description="'simple' or 'complex'.")
    recall_queries: list[str] = Field(
        default_factory=list,
        description="1-3 short search phrases distilled from the query.",
    )
    time_filter: str | None = Field(
        default=None,
        description="ISO 8601 date of the earliest relevant memory, or null.",
    )


class ExtractedMemories(BaseModel):
    """Discrete, self-contained statements worth remembering."""

    memories: list[str] = Field(default_factory=list)


class ConsolidationAction(BaseModel):
    """What to do with one existing memory similar to new content."""

    model_config = ConfigDict(extra="forbid")

    action: str = Field(description="'keep', 'update' or 'delete'.")
    record_id: str = Field(description="The id of the existing memory.")
    new_content: str | None = Field(
        default=None, description="The memory's new text (for 'update')."
    )
    reason: str = Field(default="", description="Why, briefly.")


class ConsolidationPlan(BaseModel):
    """How new content joins the similar memories already stored."""

    model_config = ConfigDict(extra="forbid")

    actions: list[ConsolidationAction] = Field(default_factory=list)
    insert_new: bool = Field(
        default=True, description="Whether the new content is also saved as a memory."
    )
    insert_reason: str = Field(default="", description="Why it is saved or not.")


SAVE_SYSTEM = (
    "You file content into a hierarchical memory. Given the content and the scopes and "
    "categories already in use, answer with: suggested_scope (an existing scope path that "
    "fits, a new path if none does, / for the root); categories (reuse existing ones where "
    "they apply, add new ones when needed); importance (0.0 to 1.0, how much this matters); "
    "extracted_metadata (the entities, dates and topics it mentions)."
)
SAVE_USER = (
    "Scopes in use: {scopes}\nCategories in use: {categories}\n\n"
    "The content to file, between the markers:\n<<<\n{content}\n>>>"
)
QUERY_SYSTEM = (
    "You prepare a search of a memory store. Given a query and the scopes available, "
    "answer with: keywords (entities or words worth filtering on); suggested_scopes (the "
    "available scopes that matter, empty for all); complexity ('simple' or 'complex'); "
    "recall_queries (1 to 3 short search phrases for a vector search: the query itself if "
    "it is already short, else the distinct things it asks about); time_filter (an ISO 8601 "
    "date for the earliest relevant memory when the query names a period, else null)."
)
QUERY_USER = "Scopes searched: {scopes}\n\nThe query, between the markers:\n<<<\n{query}\n>>>"
EXTRACT_SYSTEM = (
    "You turn raw content (such as a task and its result) into memories worth keeping. "
    "Each memory is one short statement that makes sense on its own and records a fact, "
    "decision, outcome, preference or lesson; keep exact names and numbers; do not restate "
    "the task, summarise vaguely or repeat an idea. Nothing worth keeping: an empty list. "
    'Answer with a JSON object whose key "memories" holds the list of strings.'
)
EXTRACT_USER = "The content, between the markers:\n<<<\n{content}\n>>>"
CONSOLIDATE_SYSTEM = (
    "You keep a memory store free of stale and repeated entries. Given new content and "
    "the stored memories most similar to it, answer with one action per stored memory: "
    "'keep' (still true and not repeated by the new content), 'update' (give its corrected "
    "or completed text in new_content) or 'delete' (outdated, contradicted or wholly "
    "repeated by the new content); and insert_new: true when the new content says "
    "something the memories (after your updates) do not, else false. When unsure, keep."
)
CONSOLIDATE_USER = (
    "The stored memories (JSON, one a line):\n{records}\n\n"
    "The new content, between the markers:\n<<<\n{content}\n>>>"
)
RECORD_CHARS = 500
"""A stored memory's text is cut to this many characters in a consolidation request."""


# -- usage ------------------------------------------------------------------------------------

_SINK: contextvars.ContextVar[Callable[[Any], None] | None] = contextvars.ContextVar(
    "fastcrew_memory_usage", default=None
)


@contextmanager
def charging(sink: Callable[[Any], None] | None) -> Iterator[None]:
    """Hand every memory LLM answer made inside to ``sink`` (a crew run's usage)."""
    token = _SINK.set(sink)
    try:
        yield
    finally:
        _SINK.reset(token)


async def astructured(llm: Any, system: str, user: str, model: type[M]) -> M:
    """Ask ``llm`` for ``model`` as structured output (raises on any failure): a
    :class:`fastcrew.LLM` (or anything with ``achat``) through ``achat``, a CrewAI-style
    custom LLM as agents call it (:func:`fastcrew.llm.custom.call_custom`)."""
    from ..llm.custom import call_custom, chat_method
    from ..tools.invoke import strip_fences

    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    achat = chat_method(llm)
    if achat is not None:
        resp = await achat(messages, response_format=model)
        sink = _SINK.get()
        if sink is not None:
            sink(resp)
    else:
        resp = await call_custom(llm, messages, response_model=model)
    return model.model_validate_json(strip_fences(resp.content or ""))


async def aanalyze_for_save(
    content: str, scopes: list[str], categories: list[str], llm: Any
) -> MemoryAnalysis:
    """The LLM's analysis of ``content`` (CrewAI's defaults if it fails)."""
    user = SAVE_USER.format(content=content, scopes=scopes or ["/"], categories=categories)
    try:
        return await astructured(llm, SAVE_SYSTEM, user, MemoryAnalysis)
    except Exception as exc:  # as CrewAI: a failed analysis saves with defaults
        _log.warning("memory save analysis failed, using defaults: %s", exc)
        return MemoryAnalysis()


async def aanalyze_query(query: str, scopes: list[str], llm: Any) -> QueryAnalysis:
    """The LLM's analysis of a long recall query (the query alone if it fails)."""
    user = QUERY_USER.format(query=query, scopes=scopes or ["/"])
    try:
        return await astructured(llm, QUERY_SYSTEM, user, QueryAnalysis)
    except Exception as exc:  # as CrewAI: recall goes on with the query itself
        _log.warning("memory query analysis failed, searching the query as is: %s", exc)
        return QueryAnalysis(recall_queries=[query])


async def aconsolidate(content: str, similar: list[Any], llm: Any) -> ConsolidationPlan:
    """The LLM's plan for ``content`` against the ``similar`` records (``MemoryRecord``);
    on any failure: keep them all and insert the new content, as CrewAI."""
    lines = [
        dumps(
            {
                "record_id": r.id,
                "scope": r.scope,
                "importance": round(r.importance, 2),
                "created": r.created_at.isoformat(timespec="seconds"),
                "text": r.content[:RECORD_CHARS],
            }
        ).decode()
        for r in similar
    ]
    user = CONSOLIDATE_USER.format(content=content, records="\n".join(lines))
    try:
        return await astructured(llm, CONSOLIDATE_SYSTEM, user, ConsolidationPlan)
    except Exception as exc:  # as CrewAI: the memory is still saved
        _log.warning("memory consolidation failed, saving as new: %s", exc)
        return ConsolidationPlan()


async def aextract_memories(content: str, llm: Any) -> list[str]:
    """Discrete memories in ``content`` (the whole content as one if the LLM fails)."""
    if not content.strip():
        return []
    try:
        found = await astructured(
            llm, EXTRACT_SYSTEM, EXTRACT_USER.format(content=content), ExtractedMemories
        )
    except Exception as exc:  # as CrewAI: keep the content whole
        _log.warning("memory extraction failed, keeping the content whole: %s", exc)
        return [content]
    return [m.strip() for m in found.memories if m and m.strip()]
