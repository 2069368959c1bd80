"""The vector file: reads in batches, the queue served before the write, another program's
file refused, pickling; and an Embedder's call cancelled while another waits for its texts."""

from __future__ import annotations

import asyncio
import gc
import os
import pickle
import sqlite3
from array import array
from pathlib import Path

import pytest

from fastcrew.cache import CacheFileError, connections
from fastcrew.embeddings import Embedder, EmbeddingStore, content_key

from .fake_server import FakeEmbeddings, expected_vector


def key(i: int) -> bytes:
    return content_key("http://h/v1/embeddings", "m", None, f"text {i}")


def test_keys_depend_on_endpoint_model_dimensions_and_text() -> None:
    base = content_key("e", "m", None, "t")
    others = [content_key("e2", "m", None, "t"), content_key("e", "m2", None, "t"),
              content_key("e", "m", 256, "t"), content_key("e", "m", None, "t2")]  # fmt: skip
    assert len(base) == 16
    assert base not in others
    assert len(set(others)) == 4


def test_queued_then_stored_then_read_in_chunks(tmp_path: Path) -> None:
    with EmbeddingStore(tmp_path / "v.sqlite") as store:
        store.put_later((key(i), array("f", [i, -i])) for i in range(1200))
        assert store.get_many([key(7)]) == {key(7): array("f", [7, -7])}  # from the queue
        store.flush()
        assert store.count() == 1200
    with EmbeddingStore(tmp_path / "v.sqlite") as again:
        found = again.get_many([key(i) for i in range(1300)])  # 3 chunks of IN (…)
    assert len(found) == 1200
    assert found[key(1199)] == array("f", [1199, -1199])


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (x)")
    with pytest.raises(CacheFileError, match="not a fastcrew embedding store"):
        EmbeddingStore(path)


def test_pickles_by_path(tmp_path: Path) -> None:
    with EmbeddingStore(tmp_path / "v.sqlite", timeout=5) as store:
        copy = pickle.loads(pickle.dumps(store))
        assert (copy.path, copy.timeout) == (store.path, 5)
        copy.close()


def test_an_embedder_pickles_with_its_settings(tmp_path: Path) -> None:
    spec = {"provider": "openai", "config": {"api_key": "sk-k", "dimensions": 4}}
    embedder = Embedder(spec, cache=tmp_path / "v.sqlite", concurrency=3)
    copy = pickle.loads(pickle.dumps(embedder))
    assert copy.config == embedder.config
    assert copy.concurrency == 3
    assert copy.store is not None
    assert copy.store.path == str(tmp_path / "v.sqlite")


async def test_a_cancelled_call_does_not_cancel_the_request_others_wait_for(
    fake: FakeEmbeddings,
) -> None:
    fake.delay_s = 0.6
    spec = {"provider": "openai", "config": {"api_key": "k", "api_base": f"{fake.url}/v1"}}
    embedder = Embedder(spec, cache=False)
    first = asyncio.create_task(embedder.aembed(["shared"]))
    await asyncio.sleep(0.05)  # its request is out
    second = asyncio.create_task(embedder.aembed(["shared", "own"]))
    await asyncio.sleep(0.05)
    first.cancel()
    vectors = await second
    assert [list(v) for v in vectors] == [
        expected_vector("text-embedding-3-small", t) for t in ("shared", "own")
    ]
    assert fake.inputs == [1, 1]  # "shared" was sent once
    with pytest.raises(asyncio.CancelledError):
        await first


def test_a_damaged_file_says_to_delete_it(tmp_path: Path) -> None:
    path = tmp_path / "garbage.sqlite"
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(CacheFileError, match=r"embedding store .* delete it"):
        EmbeddingStore(path)


def test_a_forked_child_leaves_the_parents_connections_open(tmp_path: Path) -> None:
    """After a fork the child makes its own connection and keeps the parent's open and
    unused (closing a copy could drop the parent's SQLite locks); the parent reads on."""
    store = EmbeddingStore(tmp_path / "e.sqlite")
    store.put_later([(key(1), array("f", [1.0, 2.0]))])
    store.flush()
    parent_conn = store._db.get()
    pid = os.fork()
    if pid == 0:  # the child: exits with 0 only if all holds
        code = 1
        try:
            gc.collect()
            kept = any(c is parent_conn for c in connections._INHERITED)
            mine = store._db.get()
            read = store.get_many([key(1)])
            code = 0 if kept and mine is not parent_conn and list(read[key(1)]) == [1, 2] else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert list(store.get_many([key(1)])[key(1)]) == [1.0, 2.0]
    assert store._db.get() is parent_conn
    store.close()
