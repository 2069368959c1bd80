"""Knowledge in a batch: each worker indexes the crew's knowledge once, before it takes rows,
under the collection's cross-process lock — so two workers embed each chunk once in all, and
a second run (same storage) embeds nothing. Real worker processes, a spawned simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastcrew import run_batch
from fastcrew.knowledge.source.string_knowledge_source import StringKnowledgeSource
from fastcrew.sim import spawn

from .helpers import read_rows, write_inputs
from .knowledge_crews import CHUNK_SIZE, CHUNKS, TEXT

CREW = f"{Path(__file__).with_name('knowledge_crews.py')}:knowledge_crew"
ROWS = 300


def test_two_workers_embed_each_chunk_once_and_a_second_run_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FASTCREW_STORAGE_DIR", str(tmp_path / "storage"))
    source = StringKnowledgeSource(content=TEXT, chunk_size=CHUNK_SIZE, chunk_overlap=0)
    assert len(source.knowledge_chunks()) == CHUNKS
    inputs = write_inputs(tmp_path / "in.jsonl", ROWS)
    with spawn(seed=5, echo_chars=100_000) as sim:

        def batch(output: Path) -> dict[str, int]:
            sim.reset_stats()
            result = run_batch(
                inputs, output=output, crew=CREW, workers=2, base_url=sim.base_url, quiet=True
            )
            assert (result.status, result.rows_ok, result.rows_error) == ("complete", ROWS, 0)
            rows = read_rows(output)
            assert all("Additional Information: Fact " in r["output"]["raw"] for r in rows)
            assert all(r["usage"]["requests"] == 2 for r in rows)  # the query rewrite + answer
            return sim.stats()

        first = batch(tmp_path / "first.jsonl")
        # 40 chunks once in all (both workers index; the second finds every id present),
        # plus the rows' one query (the same text every row): once per worker at most
        assert CHUNKS + 1 <= first["embedding_inputs"] <= CHUNKS + 2, first
        assert first["requests_total"] == 2 * ROWS
        second = batch(tmp_path / "second.jsonl")
        assert second["embedding_inputs"] == 0, second  # chunks in the table, query cached
        assert second["embedding_requests"] == 0
        print(
            f"\nembeddings: first run {first['embedding_requests']} requests / "
            f"{first['embedding_inputs']} inputs; second run {second['embedding_requests']} / "
            f"{second['embedding_inputs']}"
        )
