"""ResponseCache on real SQLite files: hits, misses, write-behind, bounds, bad files, threads."""

from __future__ import annotations

import multiprocessing
import pickle
import sqlite3
import threading
from pathlib import Path

import pytest

from fastcrew.cache import CacheFileError, ResponseCache, request_key
from fastcrew.errors import ConfigurationError

URL = "https://api.openai.com/v1/chat/completions"


def key(i: int | str) -> bytes:
    return request_key(URL, {"model": "m", "messages": [{"role": "user", "content": str(i)}]})


def answer(i: int | str, size: int = 0) -> bytes:
    return f'{{"id":"{i}","pad":"'.encode() + b"x" * size + b'"}'


@pytest.fixture
def cache(tmp_path: Path):
    with ResponseCache(tmp_path / "sub" / "cache.sqlite") as made:
        yield made


def test_miss_then_put_then_hit(cache: ResponseCache) -> None:
    assert cache.get(key(1)) is None
    cache.put(key(1), answer(1), cost_usd=0.25)
    assert cache.get(key(1)) == answer(1)
    assert cache.get(key(1)) == answer(1)
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.writes, stats.evictions) == (2, 1, 1, 0)
    assert stats.saved_usd == pytest.approx(0.5)
    assert cache.size() == (1, len(answer(1)))


def test_a_put_replaces_and_the_file_outlives_the_object(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    with ResponseCache(path) as first:
        first.put(key(1), b"old")
        first.put(key(1), b"newer")
        assert first.size() == (1, 5)
    with ResponseCache(path) as second:
        assert second.get(key(1)) == b"newer"
        assert second.stats().hits == 1  # counters are per object


def test_never_another_keys_value(cache: ResponseCache) -> None:
    for i in range(3000):
        cache.put_later(key(i), answer(i))
    cache.flush()
    for i in range(3000):
        assert cache.get(key(i)) == answer(i)
    for i in range(3000, 4000):
        assert cache.get(key(i)) is None
    # Two keys with the same first 8 bytes share a row: the second replaces the first, and
    # the first is a miss, never the second's value.
    a, b = bytes(8) + b"A" * 8, bytes(8) + b"B" * 8
    cache.put(a, b"for a")
    cache.put(b, b"for b")
    assert cache.get(a) is None
    assert cache.get(b) == b"for b"


def test_keys_must_be_request_keys(cache: ResponseCache) -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        cache.put(b"short", b"v")


def test_put_later_is_served_before_and_after_it_is_written(cache: ResponseCache) -> None:
    cache.put_later(key(1), answer(1), cost_usd=0.1)
    assert cache.get(key(1)) == answer(1)
    cache.flush()
    assert cache.get(key(1)) == answer(1)
    assert cache.size().entries == 1
    assert cache.stats().writes == 1


async def test_aput_and_aflush(cache: ResponseCache) -> None:
    await cache.aput(key(1), answer(1))
    assert cache.size().entries == 1
    cache.put_later(key(2), answer(2))
    await cache.aflush()
    assert cache.size().entries == 2


def test_close_writes_what_is_queued(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    cache = ResponseCache(path)
    for i in range(100):
        cache.put_later(key(i), answer(i))
    cache.close()
    with pytest.raises(RuntimeError, match="closed"):
        cache.get(key(1))
    with ResponseCache(path) as again:
        assert again.size().entries == 100


def test_bytes_bound_evicts_least_recently_used(tmp_path: Path) -> None:
    value_size = 1000
    with ResponseCache(tmp_path / "c.sqlite", max_bytes=20_000, touch_after=0) as cache:
        for i in range(40):
            cache.put(key(i), answer(i, value_size))
            assert cache.size().bytes <= 20_000
            assert cache.get(key(0)) == answer(0, value_size)  # 0 stays the most recently used
            cache.flush()  # the hit's mark is a queued write
        entries, stored = cache.size()
        assert stored <= 20_000
        assert entries + cache.stats().evictions == 40
        assert cache.stats().evictions >= 20
        assert cache.get(key(1)) is None  # the least recently used: gone
        assert cache.get(key(39)) is not None  # the newest: kept
        assert cache.get(key(0)) is not None  # the oldest, but used all along: kept


def test_entries_bound_evicts_in_batches(tmp_path: Path) -> None:
    with ResponseCache(tmp_path / "c.sqlite", max_entries=100) as cache:
        for i in range(101):
            cache.put(key(i), answer(i))
        assert cache.size().entries == 90  # one batch, down to 90 %
        for i in range(101, 1000):
            cache.put_later(key(i), answer(i))
        cache.flush()
        assert cache.size().entries <= 100
        assert cache.get(key(999)) == answer(999)


def test_a_value_larger_than_the_bound_is_not_stored(tmp_path: Path) -> None:
    with ResponseCache(tmp_path / "c.sqlite", max_bytes=100) as cache:
        cache.put(key(1), b"x" * 101)
        assert cache.get(key(1)) is None
        assert cache.size() == (0, 0)


def test_garbage_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"this is not a database, just garbage bytes " * 200)
    with pytest.raises(CacheFileError, match="not an SQLite database") as caught:
        ResponseCache(path)
    assert caught.value.path == str(path)
    assert "delete it" in str(caught.value)
    assert isinstance(caught.value, ConfigurationError)


def _damage(path: Path, from_page: int) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    data[4096 * from_page :] = b"\xa5" * (len(data) - 4096 * from_page)
    path.write_bytes(bytes(data))


def _read_all(path: Path, n: int) -> None:
    with ResponseCache(path) as cache:
        for i in range(n):
            assert cache.get(key(i)) in (None, answer(i, 3000))


@pytest.mark.parametrize("from_page", [1, 20])
def test_damaged_pages_are_a_clear_error(tmp_path: Path, from_page: int) -> None:
    """Damaged schema pages are found on opening, damaged answer pages on reading."""
    path = tmp_path / "cache.sqlite"
    with ResponseCache(path) as cache:
        for i in range(200):
            cache.put(key(i), answer(i, 3000))
    _damage(path, from_page)
    with pytest.raises(CacheFileError, match="damaged") as caught:
        _read_all(path, 200)
    assert caught.value.path == str(path)


def test_another_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    ResponseCache(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = 999 WHERE name = 'schema_version'")
    with pytest.raises(CacheFileError, match="schema version 999") as caught:
        ResponseCache(path)
    assert "delete the file" in str(caught.value)


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE flow_states (id TEXT)")
    with pytest.raises(CacheFileError, match="not a fastcrew response cache"):
        ResponseCache(path)


def test_a_forked_child_opens_its_own_connections(cache: ResponseCache) -> None:
    cache.put(key(1), answer(1))
    cache.put_later(key(2), answer(2))  # the parent's writer thread runs
    child = multiprocessing.get_context("fork").Process(target=_in_child, args=(cache,))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    cache.flush()
    assert cache.get(key(3)) == answer(3)  # the child's write
    assert cache.stats().hits == 1  # the child's counters are its own


def _in_child(cache: ResponseCache) -> None:
    assert cache.stats().hits == 0
    assert cache.get(key(1)) == answer(1)
    cache.put_later(key(3), answer(3))
    cache.close()


def test_wal_mode_and_pickling(cache: ResponseCache) -> None:
    mode = sqlite3.connect(cache.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    cache.put(key(1), answer(1))
    with pickle.loads(pickle.dumps(cache)) as copy:
        assert (copy.path, copy.max_bytes) == (cache.path, cache.max_bytes)
        assert copy.get(key(1)) == answer(1)


def test_threads_share_one_cache(cache: ResponseCache) -> None:
    per_thread, threads = 500, 8
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                name = f"{t}-{i}"
                if i % 2:
                    cache.put(key(name), answer(name))
                else:
                    cache.put_later(key(name), answer(name))
                assert cache.get(key(name)) == answer(name)
                other = f"{(t + 1) % threads}-{i}"
                assert cache.get(key(other)) in (None, answer(other))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    cache.flush()
    assert errors == []
    assert cache.size().entries == per_thread * threads
    stats = cache.stats()
    assert stats.writes == per_thread * threads
    assert stats.hits + stats.misses == 2 * per_thread * threads


@pytest.mark.parametrize(("touch_after", "renewed"), [(60.0, False), (0.0, True)])
def test_a_hit_renews_the_mark_only_when_it_is_old(
    tmp_path: Path, touch_after: float, renewed: bool
) -> None:
    path = tmp_path / "c.sqlite"

    def mark() -> int:
        with sqlite3.connect(path) as conn:
            return conn.execute("SELECT last_used_us FROM responses").fetchone()[0]

    with ResponseCache(path, touch_after=touch_after) as cache:
        cache.put(key(1), answer(1))
        before = mark()
        assert cache.get(key(1)) == answer(1)
        cache.flush()
        assert (mark() > before) is renewed
