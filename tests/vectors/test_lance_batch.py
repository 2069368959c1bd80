"""``lance.to_batch``: the float32 fast path and a shared metadata object give the batch the
general path gives; new tables are made in Lance's 2.0 file format and read back."""

from __future__ import annotations

import random
from array import array
from pathlib import Path

import pytest

from fastcrew.vectors import VectorRecord, VectorStore, lance

DIM = 8


def rows(vectors: list, metadata: list[dict[str, object]]) -> list[VectorRecord]:
    return [
        VectorRecord(id=f"r{i}", text=f"t {i}", vector=v, metadata=m, scope="/s",
                     created_at=10.0 + i, importance=0.25)
        for i, (v, m) in enumerate(zip(vectors, metadata, strict=True))
    ]  # fmt: skip


def floats(n: int) -> list[list[float]]:
    rng = random.Random(3)
    return [[rng.gauss(0.0, 1.0) for _ in range(DIM)] for _ in range(n)]


def test_float32_arrays_and_a_shared_metadata_give_the_general_batch() -> None:
    values = floats(5)
    shared = {"source": "x", "n": 1}
    fast = lance.to_batch(rows([array("f", v) for v in values], [shared] * 5), DIM)
    general = lance.to_batch(rows(values, [dict(shared) for _ in range(5)]), DIM)
    assert fast.equals(general)
    assert fast.column("metadata").to_pylist() == ['{"source": "x", "n": 1}'] * 5


def test_vectors_of_other_types_or_lengths() -> None:
    values = floats(3)
    mixed = [array("f", values[0]), values[1], array("d", values[2])]
    batch = lance.to_batch(rows(mixed, [{}, {"a": 1}, {}]), DIM)
    expected = [list(array("f", v)) for v in values]
    assert batch.column("vector").to_pylist() == expected
    assert batch.column("metadata").to_pylist() == ["{}", '{"a": 1}', "{}"]
    with pytest.raises(ValueError, match="shape"):
        lance.to_batch(rows([array("f", values[0]), array("f", [1.0])], [{}, {}]), DIM)


async def test_a_new_table_round_trips_in_the_2_0_format(tmp_path: Path) -> None:
    store = VectorStore("t", path=tmp_path / "store", index_threshold=None)
    table = store.table("chunks")
    values = floats(20)
    assert await table.aadd(rows([array("f", v) for v in values], [{"k": 1}] * 20)) == 20
    hits = await table.asearch(values[7], 1, with_vectors=True)
    assert hits[0][0].id == "r7"
    assert list(hits[0][0].vector) == pytest.approx(values[7], rel=1e-6)
    assert hits[0][0].metadata == {"k": 1}
    data = [f for f in (tmp_path / "store").rglob("*.lance") if f.is_file()]
    assert data
    # A data file's footer ends with its format version (u16 major, minor) and b"LANC":
    # Lance writes 2.0 as (0, 3), 2.1 as (2, 1).
    assert {f.read_bytes()[-8:] for f in data} == {b"\x00\x00\x03\x00LANC"}
