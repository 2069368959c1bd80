"""One of the processes of test_processes.py: ``python cache_child.py DB worker N workers``.

Prints ``ready``, waits for a line on stdin (every process starts at once), then writes N
answers of its own (half at once, half write-behind) while reading the other workers', and
prints its counters and how many of the others' answers it saw, as JSON.
"""

from __future__ import annotations

import json
import sys

from fastcrew.cache import ResponseCache, request_key


def key(worker: int, i: int) -> bytes:
    return request_key("http://sim/v1/chat/completions", {"worker": worker, "i": i})


def answer(worker: int, i: int) -> bytes:
    return json.dumps({"worker": worker, "i": i, "pad": "x" * (i % 700)}).encode()


def main(db: str, worker: int, n: int, workers: int) -> None:
    cache = ResponseCache(db)
    print("ready", flush=True)
    sys.stdin.readline()
    seen = 0
    for i in range(n):
        if i % 2:
            cache.put(key(worker, i), answer(worker, i), cost_usd=0.001)
        else:
            cache.put_later(key(worker, i), answer(worker, i), cost_usd=0.001)
        other = (worker + 1 + i % (workers - 1)) % workers
        found = cache.get(key(other, i))
        if found is not None:
            if found != answer(other, i):
                raise AssertionError(f"worker {other} answer {i} came back wrong: {found!r}")
            seen += 1
    cache.flush()
    for i in range(n):
        if cache.get(key(worker, i)) != answer(worker, i):
            raise AssertionError(f"own answer {i} missing after flush")
    stats = cache.stats()
    cache.close()
    print(json.dumps({"writes": stats.writes, "hits": stats.hits, "seen": seen}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], *map(int, sys.argv[2:5]))
