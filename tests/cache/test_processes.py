"""Four real processes write and read one cache file at once: no error, no lost answer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fastcrew.cache import ResponseCache

from .cache_child import answer, key

CHILD = str(Path(__file__).with_name("cache_child.py"))
WORKERS, N = 4, 2000


def test_four_processes_share_one_file(tmp_path: Path) -> None:
    db = str(tmp_path / "shared.sqlite")
    children = [
        subprocess.Popen(
            [sys.executable, CHILD, db, str(w), str(N), str(WORKERS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(WORKERS)
    ]
    for child in children:  # every one has opened the file (the first one created it)
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
    for child in children:  # go
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    reports = []
    for child in children:
        out, err = child.communicate(timeout=100)
        assert child.returncode == 0, err
        reports.append(json.loads(out))
    assert [r["writes"] for r in reports] == [N] * WORKERS
    assert all(r["hits"] == N + r["seen"] for r in reports)
    with ResponseCache(db) as cache:
        assert cache.size().entries == WORKERS * N
        for w in range(WORKERS):
            for i in range(N):
                assert cache.get(key(w, i)) == answer(w, i)


def test_queued_writes_reach_the_file_at_exit(tmp_path: Path) -> None:
    db = str(tmp_path / "exit.sqlite")
    script = (
        "import sys; sys.path.insert(0, sys.argv[2])\n"
        "from cache_child import answer, key\n"
        "from fastcrew.cache import ResponseCache\n"
        "cache = ResponseCache(sys.argv[1])\n"
        "for i in range(500): cache.put_later(key(0, i), answer(0, i))\n"
    )  # no flush, no close: the interpreter's exit writes them
    subprocess.run([sys.executable, "-c", script, db, str(Path(CHILD).parent)], check=True)
    with ResponseCache(db) as cache:
        assert cache.size().entries == 500
        assert cache.get(key(0, 499)) == answer(0, 499)
