"""Memory in a batch: each row has its own scope, so a row recalls its own notes and never
another row's (real worker processes, a spawned simulator whose answers echo the prompt)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fastcrew import run_batch
from fastcrew.sim import spawn

from .helpers import read_rows

SPECS = Path(__file__).with_name("knowledge_crews.py")
CREW = f"{SPECS}:memory_crew"
ROWS = 12


def test_a_row_recalls_its_own_notes_and_never_another_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FASTCREW_STORAGE_DIR", str(tmp_path / "storage"))
    inputs = tmp_path / "in.jsonl"
    codes = [f"ORCHID-{1000 + i}" for i in range(ROWS)]
    inputs.write_text("".join(json.dumps({"code": code}) + "\n" for code in codes))
    with spawn(seed=5, echo_chars=100_000) as sim:
        result = run_batch(
            inputs, output=tmp_path / "out.jsonl", crew=CREW, workers=2, concurrency=4,
            base_url=sim.base_url, quiet=True,
        )  # fmt: skip
    assert (result.status, result.rows_ok, result.rows_error) == ("complete", ROWS, 0)
    for row, code in zip(read_rows(tmp_path / "out.jsonl"), codes, strict=True):
        answer = row["output"]["tasks"][1]["raw"]  # the question's answer echoes its prompt
        assert code in answer  # its own note, recalled
        assert set(re.findall(r"ORCHID-\d+", answer)) == {code}  # and no other row's


def test_a_flow_row_has_its_own_memory_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FASTCREW_STORAGE_DIR", str(tmp_path / "storage"))
    inputs = tmp_path / "in.jsonl"
    codes = [f"HERON-{1000 + i}" for i in range(6)]
    inputs.write_text("".join(json.dumps({"code": code}) + "\n" for code in codes))
    with spawn(seed=5) as sim:
        result = run_batch(
            inputs, output=tmp_path / "out.jsonl", flow=f"{SPECS}:MemoryFlow", workers=2,
            concurrency=3, base_url=sim.base_url, quiet=True,
        )  # fmt: skip
    assert (result.status, result.rows_ok) == ("complete", 6)
    for row, code in zip(read_rows(tmp_path / "out.jsonl"), codes, strict=True):
        assert row["output"]["state"]["recalled"] == [f"The vault access code is {code}."]
