"""Resetting what crews and flows stored (``fastcrew reset-memories``, CrewAI's
``crewai reset-memories``), store by store rather than crew by crew: nothing is imported from
the project, the stores under ``$FASTCREW_STORAGE_DIR`` (else the per-project data folder,
:func:`~fastcrew.vectors.default_store_dir`) are emptied.

- **memory**: every table of the ``memory`` vector store (one per embedder): the memories of
  every crew, agent and flow of the project, as CrewAI's ``--memory`` resets the crews' and
  flows' memory.
- **knowledge**: every table of the ``knowledge`` vector store — the crews' collection
  (``crew``), the agents' (one per role) and any ``Knowledge(collection_name=...)`` — as
  CrewAI's ``--knowledge`` resets the crew's and its agents' knowledge.
- **agent knowledge**: the same but the crews' collection (``knowledge_crew__<digest>``).
- **kickoff outputs**: fastcrew keeps none (no ``crewai replay`` store): nothing to do.
- The embedding cache (``embeddings.sqlite``: vectors by a digest of the text, no text) is
  kept: it holds nothing a crew learned (``all`` names it; deleting the file clears it).

A table is dropped under its write lock (so never in the middle of another process's write);
sources are indexed again, and memories start empty, at the next kickoff. Stores elsewhere
(``Memory(storage=<folder>)``, a ``Knowledge(storage=...)`` of your own) are not touched.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..process_runtime import get_runtime
from ..vectors import STORAGE_ENV, default_store_dir
from .records import STORE_NAME

__all__ = [
    "CREW_KNOWLEDGE_PREFIX",
    "KNOWLEDGE_STORE",
    "MEMORY_STORE",
    "Reset",
    "areset_knowledge",
    "areset_memories",
    "areset_memory",
    "reset_memories",
    "storage_root",
]

MEMORY_STORE = STORE_NAME
"""The memory's vector store."""
KNOWLEDGE_STORE = "knowledge"
"""The knowledge collections' vector store (``knowledge.storage``'s ``STORE_NAME``: the
layers keep ``memory`` from importing ``knowledge``; tests/memory/test_reset.py finds the
tables a crew made through these names)."""
CREW_KNOWLEDGE_PREFIX = "knowledge_crew__"
"""Table names of the crews' collection (``crew``), one per embedder."""


@dataclass(frozen=True)
class Reset:
    """What resetting one kind of storage did: the tables dropped from the store at
    ``path``, or why nothing was (``note``)."""

    what: str
    path: Path | None = None
    dropped: tuple[str, ...] = ()
    note: str = ""

    def __str__(self) -> str:
        title = self.what[0].upper() + self.what[1:]
        if self.note:
            return f"{title}: {self.note}"
        if not self.dropped:
            return f"{title}: nothing stored in {self.path}; nothing to reset."
        tables = ", ".join(self.dropped)
        return f"{title} reset: dropped {len(self.dropped)} table(s) in {self.path} ({tables})."


def storage_root() -> Path:
    """The folder holding the stores: ``$FASTCREW_STORAGE_DIR``, else the project's data
    folder (``$XDG_DATA_HOME/fastcrew/<working directory name>``)."""
    return default_store_dir(MEMORY_STORE).parent


async def _adrop(store_name: str, what: str, wanted: Callable[[str], bool]) -> Reset:
    from ..vectors import VectorStore

    store = VectorStore(store_name)
    if not store.path.is_dir():
        return Reset(
            what, store.path, note=f"no {store_name} store at {store.path}; nothing to reset."
        )
    names = [name for name in await store.atable_names() if wanted(name)]
    for name in names:
        await store.adrop(name)
    return Reset(what, store.path, tuple(names))


async def areset_memory() -> Reset:
    """Drop every table of the ``memory`` store (all crews', agents' and flows' memories)."""
    return await _adrop(MEMORY_STORE, "memory", lambda _: True)


async def areset_knowledge(*, agents_only: bool = False) -> Reset:
    """Drop every knowledge collection (``agents_only``: all but the crews' ``crew`` one)."""
    if agents_only:
        return await _adrop(
            KNOWLEDGE_STORE, "agent knowledge", lambda n: not n.startswith(CREW_KNOWLEDGE_PREFIX)
        )
    return await _adrop(KNOWLEDGE_STORE, "knowledge", lambda _: True)


def _embedding_cache() -> Reset | None:
    """A line about the embedding cache, when there is one in the storage folder."""
    from ..embeddings.store import default_store_path

    path = Path(default_store_path())
    if not path.exists():
        return None
    return Reset(
        "embedding cache",
        path,
        note=f"kept ({path}): vectors by text digest, no text; delete the file to clear it.",
    )


async def areset_memories(
    *,
    memory: bool = False,
    knowledge: bool = False,
    agent_knowledge: bool = False,
    kickoff_outputs: bool = False,
    all: bool = False,
) -> list[Reset]:
    """Reset what the flags name (CrewAI's ``reset-memories`` flags; ``all``: memory,
    every knowledge collection and kickoff outputs); one :class:`Reset` each, in that order.
    A missing storage folder resets nothing and says so."""
    root = storage_root()
    if not root.is_dir():
        where = f"${STORAGE_ENV}" if os.environ.get(STORAGE_ENV) else "the project's data folder"
        return [
            Reset(
                "storage",
                root,
                note=f"no storage folder at {root} ({where}); nothing to reset. Run it in the "
                f"folder the crew runs in, or set ${STORAGE_ENV} to the folder it uses.",
            )
        ]
    done: list[Reset] = []
    if memory or all:
        done.append(await areset_memory())
    if knowledge or all:
        done.append(await areset_knowledge())
    elif agent_knowledge:
        done.append(await areset_knowledge(agents_only=True))
    if kickoff_outputs or all:
        done.append(
            Reset(
                "kickoff outputs",
                note="fastcrew keeps no kickoff task outputs (no `crewai replay` store); "
                "nothing to reset.",
            )
        )
    if all and (cache := _embedding_cache()) is not None:
        done.append(cache)
    return done


def reset_memories(
    *,
    memory: bool = False,
    knowledge: bool = False,
    agent_knowledge: bool = False,
    kickoff_outputs: bool = False,
    all: bool = False,
) -> list[Reset]:
    """:func:`areset_memories`, blocking (refused inside a running loop)."""
    work = areset_memories(
        memory=memory,
        knowledge=knowledge,
        agent_knowledge=agent_knowledge,
        kickoff_outputs=kickoff_outputs,
        all=all,
    )
    return get_runtime().run(work, api="reset_memories", async_api="areset_memories")
