"""The vector store on real LanceDB tables in temporary folders."""

from __future__ import annotations

import asyncio
import math
import pickle
import random
import subprocess
import sys
from array import array
from pathlib import Path

import pytest

from fastcrew.vectors import (
    DimensionMismatchError,
    VectorRecord,
    VectorsNotInstalledError,
    VectorStore,
    default_store_dir,
)
from fastcrew.vectors.filters import scope_filter

DIM = 16


def vec(rng: random.Random, dim: int = DIM) -> list[float]:
    return [rng.gauss(0.0, 1.0) for _ in range(dim)]


def records(n: int, seed: int = 1, scopes: tuple[str, ...] = ("/a", "/b")) -> list[VectorRecord]:
    rng = random.Random(seed)
    return [
        VectorRecord(
            id=f"r{i}",
            text=f"text {i}",
            vector=vec(rng),
            metadata={"i": i, "tag": "x" if i % 2 else "y"},
            scope=scopes[i % len(scopes)],
            created_at=1000.0 + i,
            importance=(i % 10) / 10,
        )
        for i in range(n)
    ]


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def exact_top(query: list[float], rows: list[VectorRecord], k: int) -> list[tuple[str, float]]:
    scored = sorted(((r.id, cosine(query, list(r.vector))) for r in rows), key=lambda s: -s[1])
    return scored[:k]


@pytest.fixture
def store(tmp_path: Path) -> VectorStore:
    return VectorStore("test", path=tmp_path / "store", index_threshold=None)


async def test_add_skips_ids_present_and_repeats_in_a_batch(store: VectorStore) -> None:
    table = store.table("docs")
    rows = records(30)
    assert await table.acount() == 0
    assert await table.aids_present(["r1"]) == set()
    assert await table.aadd(rows[:20]) == 20
    assert await table.aadd(rows) == 10  # r0-r19 are there
    assert await table.aadd(rows) == 0  # a resumed batch adds nothing
    changed = VectorRecord(id="r3", text="other", vector=vec(random.Random(9)))
    assert await table.aadd([changed, changed]) == 0  # the id is the key, as given
    assert await table.aadd([]) == 0
    fresh = VectorRecord(id="new", text="n", vector=vec(random.Random(8)))
    assert await table.aadd([fresh, fresh]) == 1
    assert await table.acount() == 31
    assert await table.aids_present(["r0", "r29", "new", "missing"]) == {"r0", "r29", "new"}
    assert table.dim == DIM


async def test_search_ranks_by_cosine_as_an_exact_check_does(store: VectorStore) -> None:
    table = store.table("docs")
    rows = records(300, seed=2)
    await table.aadd(rows)
    rng = random.Random(3)
    for _ in range(10):
        query = vec(rng)
        hits = await table.asearch(query, 10)
        expected = exact_top(query, rows, 10)
        assert [r.id for r, _ in hits] == [i for i, _ in expected]
        for (_, score), (_, want) in zip(hits, expected, strict=True):
            assert score == pytest.approx(want, abs=1e-5)
    # a stored vector finds itself first, similarity 1
    (best, score), *_ = await table.asearch(rows[7].vector, 3)
    assert best.id == "r7"
    assert score == pytest.approx(1.0, abs=1e-5)


async def test_search_returns_the_records_fields(store: VectorStore) -> None:
    table = store.table("docs")
    rows = records(5)
    await table.aadd(rows)
    [(hit, _)] = await table.asearch(rows[4].vector, 1)
    assert (hit.id, hit.text, hit.scope) == ("r4", "text 4", "/a")
    assert hit.metadata == {"i": 4, "tag": "y"}
    assert hit.created_at == 1004.0
    assert hit.importance == pytest.approx(0.4)
    assert hit.vector == ()
    [(hit, _)] = await table.asearch(array("f", rows[4].vector), 1, with_vectors=True)
    assert list(hit.vector) == pytest.approx(rows[4].vector, abs=1e-6)


async def test_scope_filters_and_min_score(store: VectorStore) -> None:
    table = store.table("mem")
    rows = records(120, seed=4, scopes=("/crew/a", "/crew/b", "/other", "/crew"))
    await table.aadd(rows)
    query = vec(random.Random(5))
    in_b = await table.asearch(query, 10, scope="/crew/b")
    assert [r.id for r, _ in in_b] == [
        i for i, _ in exact_top(query, [r for r in rows if r.scope == "/crew/b"], 10)
    ]
    under_crew = await table.asearch(query, 200, scope_prefix="/crew")
    assert {r.id for r, _ in under_crew} == {r.id for r in rows if r.scope.startswith("/crew")}
    assert await table.acount(scope="/other") == 30
    assert await table.acount(scope_prefix="/crew/") == 60
    assert await table.acount(where="importance >= 0.5") == 60
    good = await table.asearch(query, 120, min_score=0.2)
    assert good
    assert all(score >= 0.2 for _, score in good)
    assert {r.id for r, _ in good} == {i for i, s in exact_top(query, rows, 120) if s >= 0.2}
    with pytest.raises(ValueError, match="not both"):
        scope_filter("/a", "/b")


async def test_quotes_in_ids_and_scopes_are_data(store: VectorStore) -> None:
    table = store.table("docs")
    rng = random.Random(6)
    odd = VectorRecord(id="it's", text="q", vector=vec(rng), scope="/o'brien")
    await table.aadd([odd, VectorRecord(id="plain", text="p", vector=vec(rng))])
    assert await table.aids_present(["it's", "x' OR '1'='1"]) == {"it's"}
    assert await table.acount(scope="/o'brien") == 1
    assert await table.adelete(["x' OR '1'='1"]) == 0
    assert await table.adelete(["it's"]) == 1
    assert await table.acount() == 1


async def test_delete_by_ids_scope_and_filter(store: VectorStore) -> None:
    table = store.table("mem")
    rows = records(40, scopes=("/a", "/b"))
    await table.aadd(rows)
    assert await table.adelete(["r0", "r1", "missing"]) == 2
    assert await table.aids_present(["r0", "r1", "r2"]) == {"r2"}
    assert await table.adelete(scope="/b") == 19  # r1 already gone
    assert await table.adelete(["r2", "r4"], scope="/b") == 0  # both in /a
    assert await table.adelete(where="created_at < 1010") == 4  # r2 r4 r6 r8
    assert await table.acount() == 15
    with pytest.raises(ValueError, match="needs ids"):
        await table.adelete()
    assert await table.adelete([]) == 0
    # a deleted id can be added again (memory's forget, then a new save)
    assert await table.aadd(rows[:2]) == 2
    assert await store.table("never_made").adelete(["x"]) == 0


async def test_persistence_across_store_instances(tmp_path: Path) -> None:
    folder = tmp_path / "kept"
    first = VectorStore("kept", path=folder, index_threshold=None)
    rows = records(25)
    await first.table("docs").aadd(rows)
    await first.table("other").aadd(rows[:3])
    again = VectorStore("kept", path=folder, index_threshold=None, consistency_s=0)
    table = again.table("docs")
    assert await table.acount() == 25
    assert await again.atable_names() == ["docs", "other"]
    assert await table.aadd(rows) == 0
    (hit, _), *_ = await table.asearch(rows[11].vector, 1)
    assert hit.id == "r11"
    # the first instance sees the second's writes (after a refresh, or consistency_s)
    await again.table("other").aadd(rows[3:5])
    await first.table("other").arefresh()
    assert await first.table("other").acount() == 5
    await again.adrop("other")
    assert await again.atable_names() == ["docs"]
    assert await again.table("other").acount() == 0


async def test_dimension_mismatch_is_refused(store: VectorStore) -> None:
    table = store.table("docs")
    await table.aadd(records(3))
    wrong = VectorRecord(id="w", text="w", vector=[1.0] * (DIM + 1))
    with pytest.raises(DimensionMismatchError):
        await table.aadd([wrong])
    with pytest.raises(DimensionMismatchError):
        await table.asearch([1.0] * 3)
    fresh = VectorStore("test", path=store.path).table("docs")  # knows the dim from disk
    with pytest.raises(DimensionMismatchError):
        await fresh.aadd([wrong])


async def test_ann_index_past_the_threshold_keeps_recall(tmp_path: Path) -> None:
    store = VectorStore("idx", path=tmp_path, index_threshold=400)
    table = store.table("docs")
    rows = records(600, seed=11)
    await table.aadd(rows[:300])
    assert not await table._table.list_indices()  # type: ignore[union-attr]
    await table.aadd(rows[300:500])  # crosses 400: the indexes are built
    names = {i.name for i in await table._table.list_indices()}  # type: ignore[union-attr]
    assert names == {"vector_idx", "id_idx", "scope_idx"}
    await table.aadd(rows[500:])  # 100 unindexed rows, searched exactly meanwhile
    await table.aoptimize()
    rng = random.Random(12)
    found = 0
    for _ in range(20):
        query = vec(rng)
        hits = await table.asearch(query, 10)
        found += len({r.id for r, _ in hits} & {i for i, _ in exact_top(query, rows, 10)})
    assert found / 200 >= 0.9
    assert await table.acount(scope="/a") == 300
    assert await table.aadd(rows) == 0


def test_the_sync_twins(store: VectorStore) -> None:
    table = store.table("docs")
    rows = records(10)
    assert table.add(rows) == 10
    assert table.add(rows) == 0
    assert table.count() == 10
    assert table.count(scope="/a") == 5
    assert table.ids_present(["r1", "zz"]) == {"r1"}
    assert table.search(rows[2].vector, 1)[0][0].id == "r2"
    assert table.delete(["r2"]) == 1
    table.optimize()
    table.refresh()
    assert store.table_names() == ["docs"]
    store.drop("docs")
    assert table.count() == 0


def test_default_folder_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FASTCREW_STORAGE_DIR", str(tmp_path))
    assert default_store_dir("memory") == tmp_path / "memory"
    assert VectorStore("knowledge").path == tmp_path / "knowledge"
    monkeypatch.delenv("FASTCREW_STORAGE_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    assert default_store_dir("memory") == tmp_path / "data" / "fastcrew" / tmp_path.name / "memory"
    with pytest.raises(ValueError, match="one folder name"):
        default_store_dir("../x")


def test_importing_fastcrew_vectors_does_not_import_lancedb() -> None:
    code = "import sys, fastcrew.vectors; print('lancedb' in sys.modules, 'pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


async def test_a_clear_error_without_lancedb(
    store: VectorStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "lancedb", None)
    with pytest.raises(VectorsNotInstalledError, match=r"fastcrew\[knowledge\]"):
        await store.table("docs").acount()


async def test_small_fragments_are_compacted(store: VectorStore) -> None:
    table = store.table("docs")
    rows = records(40)
    for row in rows:  # one fragment per add
        await table.aadd([row])
    stats = await table._table.stats()  # type: ignore[union-attr]
    assert stats["fragment_stats"]["num_fragments"] < 32
    assert await table.acount() == 40
    assert (await table.asearch(rows[33].vector, 1))[0][0].id == "r33"


async def test_a_store_pickles_as_its_settings(tmp_path: Path) -> None:
    store = VectorStore("p", path=tmp_path, index_threshold=7, ef=33, consistency_s=None)
    await store.table("docs").aadd(records(3))
    copy = pickle.loads(pickle.dumps(store))
    assert (copy.name, copy.path, copy.index_threshold, copy.ef, copy.consistency_s) == (
        "p",
        tmp_path,
        7,
        33,
        None,
    )
    assert await copy.table("docs").acount() == 3


async def test_adds_made_together_are_one_commit(store: VectorStore) -> None:
    table = store.table("docs")
    rows = records(60)
    await table.aadd(rows[:1])  # the table exists
    before = await table._table.version()  # type: ignore[union-attr]
    # 30 callers at once, each adding two rows; callers 10 and 11 share a row
    groups = [rows[1 + 2 * i : 3 + 2 * i] for i in range(29)] + [[rows[21], rows[59]]]
    counts = await asyncio.gather(*(table.aadd(g) for g in groups))
    after = await table._table.version()  # type: ignore[union-attr]
    assert after - before <= 3  # one commit for the first caller, one for the rest (+ compaction)
    assert sum(counts) == 59
    assert counts[-1] == 1  # r21 went in with the caller that named it first
    assert await table.acount() == 60
    rng = random.Random(3)
    bad, good = await asyncio.gather(  # a wrong length fails its own caller only
        table.aadd([VectorRecord(id="bad", text="x", vector=vec(rng, DIM + 1))]),
        table.aadd([VectorRecord(id="good", text="y", vector=vec(rng))]),
        return_exceptions=True,
    )
    assert isinstance(bad, DimensionMismatchError)
    assert good == 1


async def test_scope_and_id_indexes_come_before_the_ann_one(tmp_path: Path) -> None:
    store = VectorStore("idx", path=tmp_path)  # the ANN index at 20,000 rows
    table = store.table("mem")
    rows = records(2_000, seed=5, scopes=tuple(f"/row/{i}" for i in range(500)))
    await table.aadd(rows[:1_999])
    assert not await table._table.list_indices()  # type: ignore[union-attr]
    await table.aadd(rows[1_999:])
    names = {i.name for i in await table._table.list_indices()}  # type: ignore[union-attr]
    assert names == {"id_idx", "scope_idx"}
    hits = await table.asearch(rows[7].vector, 5, scope="/row/7")
    assert hits[0][0].id == "r7"
    assert {r.scope for r, _ in hits} == {"/row/7"}


async def test_search_many_is_each_search(store: VectorStore) -> None:
    table = store.table("docs")
    rows = records(200, seed=9)
    await table.aadd(rows)
    queries = [rows[3].vector, rows[150].vector, rows[77].vector]
    together = await table.asearch_many(queries, 5, scope="/b")
    alone = [await table.asearch(q, 5, scope="/b") for q in queries]
    assert [[r.id for r, _ in hits] for hits in together] == [
        [r.id for r, _ in hits] for hits in alone
    ]
    assert together[0][0][0].id == "r3"
    assert await table.asearch_many([], 5) == []
