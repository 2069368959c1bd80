"""A batch worker adding records to a shared table: ``add_child.py DIR FIRST LAST BATCH``
adds ids FIRST..LAST-1 (deterministic vectors) in batches of BATCH, printing how many it
added as JSON."""

from __future__ import annotations

import asyncio
import json
import sys

from fastcrew.vectors import VectorRecord, VectorStore

DIM = 16


def record(i: int) -> VectorRecord:
    vector = [
        float((i * 31 + j * 17) % 97) - 48.0 + (1.0 if j == i % DIM else 0.0) for j in range(DIM)
    ]
    return VectorRecord(id=f"id-{i:05d}", text=f"chunk {i}", vector=vector, scope=f"/s{i % 3}")


async def main(folder: str, first: int, last: int, batch: int) -> None:
    table = VectorStore("shared", path=folder, index_threshold=None).table("memories")
    added = 0
    for start in range(first, last, batch):
        added += await table.aadd(record(i) for i in range(start, min(start + batch, last)))
    print(json.dumps({"added": added}))


if __name__ == "__main__":
    folder, first, last, batch = sys.argv[1], *map(int, sys.argv[2:5])
    asyncio.run(main(folder, first, last, batch))
