"""The batch executor's file hot path: journal append, ordered merge, resume scan.

100,000 rows of ~300 bytes finish in shuffled chunks of 16 inside a 10,000-row window (as
workers return them); each chunk is journaled with one write and merged into the ordered
output; then the journal is scanned as a resume would. Reported per row.
"""

from __future__ import annotations

import os
import random
import time

from fastcrew.batch.storage.journal import Journal, header, record, scan
from fastcrew.batch.storage.ordered_writer import OrderedWriter

ROWS = 100_000
CHUNK = 16
WINDOW = 10_000


def _chunks() -> list[list[tuple[int, bytes]]]:
    rng = random.Random(0)
    payload = b'"output":{"raw":"' + b"x" * 220 + b'"},"usage":{"total_tokens":431}'
    rows = [(i, b'{"index":%d,"status":"ok",%s}' % (i, payload)) for i in range(ROWS)]
    chunks = [rows[i : i + CHUNK] for i in range(0, ROWS, CHUNK)]
    per_window = WINDOW // CHUNK
    out: list[list[tuple[int, bytes]]] = []
    for start in range(0, len(chunks), per_window):
        block = chunks[start : start + per_window]
        rng.shuffle(block)
        out.extend(block)
    return out


def test_journal_and_ordered_merge(benchmark, report, tmp_path):
    chunks = _chunks()
    timings: dict[str, float] = {}

    def once() -> None:
        journal_path = str(tmp_path / "out.jsonl.journal")
        out_fd = os.open(tmp_path / "out.jsonl", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        journal = Journal(journal_path, header({"sha256": "0" * 64, "rows": None}))
        writer = OrderedWriter(out_fd)
        t0 = time.perf_counter()
        for chunk in chunks:
            journal.append([record(i, "ok", i, row) for i, row in chunk])
            writer.add_many(chunk)
        t1 = time.perf_counter()
        journal.close()
        os.close(out_fd)
        state = scan(journal_path)
        t2 = time.perf_counter()
        assert writer.written == ROWS
        assert state.counts()[0] == ROWS
        timings.update(write_merge=t1 - t0, scan=t2 - t1, peak=writer.peak)

    benchmark.pedantic(once, rounds=3, iterations=1)
    row = {
        "rows": ROWS,
        "journal_append_and_ordered_merge_us_per_row": round(
            timings["write_merge"] / ROWS * 1e6, 3
        ),
        "resume_scan_us_per_row": round(timings["scan"] / ROWS * 1e6, 3),
        "reorder_peak_rows": timings["peak"],
    }
    benchmark.extra_info.update(row)
    report.add(**row)
    report.summary.update(row)
