"""CrewAI compatibility: memory's storage, as CrewAI's ``tests/memory/test_dimension_mismatch.py``,
``tests/memory/test_storage_factory.py``, ``tests/memory/test_concurrent_storage.py`` and the
three ``test_lancedb_*`` tests of ``tests/memory/test_unified_memory.py`` pin it down
(CrewAI 1.15; written for fastcrew, not copied). CrewAI's storage class is its
``LanceDBStorage``; fastcrew's is the vector store ``fastcrew.vectors`` (``VectorStore`` /
``VectorTable``, real LanceDB in a temporary folder), so those tests run against it.

``test_dimension_mismatch.py`` (11). Covered: ``test_lancedb_save_mismatch_raises``,
``test_lancedb_mixed_batch_mismatch_raises``, ``test_lancedb_mixed_batch_on_fresh_store_raises``,
``test_lancedb_search_mismatch_raises``, ``test_lancedb_update_mismatch_raises``,
``test_lancedb_reopened_store_detects_mismatch``, ``test_lancedb_matching_dim_still_works``,
``test_error_is_not_a_runtime_error``, ``test_background_save_propagates_dimension_mismatch``
(as what it guarantees: a mismatch reaches the caller of a save, it is not dropped as a
shutdown; CrewAI calls its private ``_background_encode_batch``). Deliberately different:
``test_lancedb_save_mismatch_raises`` (the message: CrewAI's tells how to migrate a store
made by its previous default embedder, with ``crewai reset-memories``; fastcrew's names the
table and both sizes — a ``Memory`` keeps one table per embedder, so a new embedder never
meets an old table), ``test_memory_reset_all_rebuilds_reopened_store_with_new_dimension``
(for the same reason a ``Memory`` with a new embedder works at once, no ``reset_all``
needed; ``reset_all`` then saves and recalls as well). A batch of mixed sizes is refused
with a ``ValueError`` naming the shapes (CrewAI: its ``EmbeddingDimensionMismatchError``,
also a ``ValueError``). Left out (1): ``test_background_save_still_swallows_shutdown_runtime_error``
(CrewAI's thread pool refusing work at interpreter exit; fastcrew's background saves run
on the runtime's loop and are waited for at exit).

``test_storage_factory.py`` (4), left out: custom storage backends are not supported
(``set_memory_storage_factory``, ``resolve_memory_storage``, ``Memory(storage=<backend>)``;
``storage=`` is ``"lancedb"`` or a folder). ``test_concurrent_storage.py`` has no test (its
module is skipped in CrewAI; concurrent writers are tested in tests/vectors).

From ``test_unified_memory.py``, deliberately different (fastcrew's store, not CrewAI's
``LanceDBStorage``): ``test_lancedb_save_search``, ``test_lancedb_delete_count``,
``test_lancedb_list_scopes_get_scope_info`` (fastcrew's store has no scope listing: it is
``Memory.list_scopes`` / ``Memory.info`` over the store).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from echo_sim import echo_sim_fixture, embedder, storage_fixture  # noqa: F401

from fastcrew.memory import Memory
from fastcrew.sim import Simulator
from fastcrew.vectors import VectorRecord, VectorStore, VectorTable
from fastcrew.vectors.errors import DimensionMismatchError

from .memory_helpers import memory


def _record(dim: int, content: str = "test") -> VectorRecord:
    return VectorRecord(content, content, [0.1] * dim, {}, scope="/foo")


def _table(path: Path) -> VectorTable:
    return VectorStore("mem", path=path).table("memory")


@pytest.fixture(name="table")
async def table_fixture(tmp_path: Path) -> VectorTable:
    table = _table(tmp_path / "mem")
    await table.aadd([_record(4)])
    return table


# -- test_unified_memory.py's storage tests -----------------------------------------------------


async def test_lancedb_save_search(tmp_path: Path) -> None:
    table = _table(tmp_path / "mem")
    await table.aadd(
        [VectorRecord("r", "test content", [0.1, 0.2, 0.3, 0.4], {"categories": ["cat1"]}, "/foo")]
    )
    [(record, score)] = await table.asearch([0.1, 0.2, 0.3, 0.4], 5, scope_prefix="/foo")
    assert (record.text, record.scope) == ("test content", "/foo")
    assert score >= 0.0


async def test_lancedb_delete_count(tmp_path: Path) -> None:
    table = _table(tmp_path / "mem")
    await table.aadd([VectorRecord("x", "x", [0.0, 0.0, 0.0, 1.0], {}, "/")])
    assert await table.acount() == 1
    assert await table.adelete(scope_prefix="/") >= 1
    assert await table.acount() == 0


async def test_lancedb_list_scopes_get_scope_info(storage: Path, sim: Simulator) -> None:
    mem = memory(sim)
    await mem.aremember("a", scope="/", categories=[], importance=0.5)
    await mem.aremember("b", scope="/team", categories=[], importance=0.5)
    assert await mem.alist_scopes("/") == ["/team"]  # the children, not the root itself
    info = await mem.ainfo("/")
    assert info.path == "/"
    assert info.record_count == 2


# -- test_dimension_mismatch.py -----------------------------------------------------------------


async def test_lancedb_save_mismatch_raises(table: VectorTable) -> None:
    """Differs in the message (see the module docstring): both sizes are named."""
    with pytest.raises(DimensionMismatchError) as caught:
        await table.aadd([_record(8, "new embedder output")])
    assert (caught.value.expected, caught.value.got) == (4, 8)
    assert "4" in str(caught.value)
    assert "8" in str(caught.value)
    assert await table.acount() == 1


async def test_lancedb_mixed_batch_mismatch_raises(table: VectorTable) -> None:
    with pytest.raises(ValueError, match="8"):
        await table.aadd([_record(4, "fits"), _record(8, "stray dimension")])
    assert await table.acount() == 1  # nothing of the batch was written


async def test_lancedb_mixed_batch_on_fresh_store_raises(tmp_path: Path) -> None:
    table = _table(tmp_path / "mem")
    with pytest.raises(ValueError, match="8"):
        await table.aadd([_record(4, "a"), _record(8, "b")])
    assert await table.acount() == 0


async def test_lancedb_search_mismatch_raises(table: VectorTable) -> None:
    with pytest.raises(DimensionMismatchError):
        await table.asearch([0.1] * 8)


async def test_lancedb_update_mismatch_raises(table: VectorTable) -> None:
    stale = VectorRecord("test", "updated", [0.1] * 8, {}, "/foo")
    with pytest.raises(DimensionMismatchError):
        await table.aupsert([stale])
    [(record, _)] = await table.asearch([0.1] * 4, 5)
    assert record.text == "test"


async def test_lancedb_reopened_store_detects_mismatch(tmp_path: Path) -> None:
    await _table(tmp_path / "mem").aadd([_record(4)])
    reopened = _table(tmp_path / "mem")  # another store object on the same folder
    with pytest.raises(DimensionMismatchError):
        await reopened.aadd([_record(8)])
    with pytest.raises(DimensionMismatchError):
        await reopened.asearch([0.1] * 8)


async def test_lancedb_matching_dim_still_works(table: VectorTable) -> None:
    await table.aadd([_record(4, "second")])
    assert len(await table.asearch([0.1] * 4, 5)) == 2


def test_error_is_not_a_runtime_error() -> None:
    err = DimensionMismatchError("memory", 1536, 3072)
    assert not isinstance(err, RuntimeError)
    assert isinstance(err, ValueError)


async def test_memory_reset_all_rebuilds_reopened_store_with_new_dimension(
    storage: Path, sim: Simulator
) -> None:
    """Differs: a ``Memory`` keeps one table per embedder, so the memory of a new embedder
    (here 8 dimensions after 4) works without a reset; ``reset_all`` keeps it working."""
    old_spec, new_spec = embedder(sim), embedder(sim)
    old_spec["config"]["dimensions"] = 4
    new_spec["config"]["dimensions"] = 8
    old = Memory(llm="gpt-4o-mini", embedder=old_spec)
    await old.aremember("old embedder output", scope="/facts", categories=["t"], importance=0.5)
    mem = Memory(llm="gpt-4o-mini", embedder=new_spec, root_scope="/crew/test")
    await mem.aremember("before the reset", scope="/facts", categories=["t"], importance=0.5)
    await mem.areset_all()
    await mem.aremember("new embedder output", scope="/facts", categories=["t"], importance=0.5)
    [match] = await mem.arecall("new embedder output", scope="/facts", depth="shallow")
    assert match.record.content == "new embedder output"
    assert match.record.scope == "/crew/test/facts"


async def test_background_save_propagates_dimension_mismatch(storage: Path, sim: Simulator) -> None:
    # the memory's table already holds 4-dimension vectors; its embedder gives 256
    mem = memory(sim)

    def run() -> None:
        mem.table.add([_record(4)])
        with pytest.raises(DimensionMismatchError):
            mem.remember("content", scope="/foo", categories=[], importance=0.5)
        assert mem.table.count() == 1

    await asyncio.to_thread(run)
    with pytest.raises(DimensionMismatchError):
        await mem.aremember("other content", scope="/foo", categories=[], importance=0.5)
