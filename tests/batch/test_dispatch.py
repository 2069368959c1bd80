"""Dispatch and ordering without processes: the dispatcher's chunks, window and re-queues,
the ordered output's journal-first writes and named storage errors, the run's signal owner.

The dispatcher runs against a real :class:`OrderedOutput` (a journal and an output file in
``tmp_path``), so the window moves only as rows are really written.
"""

from __future__ import annotations

import errno
import json
import os
import signal
from pathlib import Path

import pytest

from fastcrew import StorageError
from fastcrew.batch.signals import StopSignals
from fastcrew.batch.storage.inputs import RawRow, row_digest
from fastcrew.batch.storage.journal import Journal, header, scan
from fastcrew.batch.storage.ordered_writer import OrderedWriter
from fastcrew.batch.storage.output import OrderedOutput
from fastcrew.batch.supervisor.dispatcher import Dispatcher
from fastcrew.batch.supervisor.events import RowTask


def raw_rows(n: int, start: int = 0) -> list[RawRow]:
    out = []
    for i in range(start, start + n):
        raw = json.dumps({"topic": f"t{i}"}).encode()
        out.append(RawRow(i, i + 1, raw, len(raw), row_digest(raw)))
    return out


def open_output(tmp_path: Path) -> OrderedOutput:
    path = tmp_path / "out.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    journal = Journal(f"{path}.journal", header({"path": "in.jsonl"}))
    return OrderedOutput(journal, OrderedWriter(fd), str(path))


def finish(output: OrderedOutput, tasks: list[RowTask]) -> None:
    output.record([(t.index, "ok", t.row.digest, b'{"i":%d}' % t.index) for t in tasks])


def make(output: OrderedOutput, n: int, **kw: object) -> Dispatcher:
    options: dict[str, object] = {"chunk_size": 4, "window": 1000, "head": output, **kw}
    d = Dispatcher(**options)  # type: ignore[arg-type]
    d.add(raw_rows(n), eof=True)
    return d


def test_chunks_are_bounded_by_chunk_size_and_room_first_come_first_served(tmp_path: Path):
    d = make(open_output(tmp_path), 20)
    d.offer(1, 10)
    d.offer(0, 3)
    out = d.dispatch()
    assert [(slot, [t.index for t in chunk]) for slot, chunk in out] == [
        (1, [0, 1, 2, 3]),
        (0, [4, 5, 6]),
    ]
    assert d.dispatch() == []  # nobody has room left
    assert d.in_flight() == 7
    assert d.dispatched == 7


def test_the_window_bounds_rows_ahead_of_the_first_unwritten_one(tmp_path: Path):
    output = open_output(tmp_path)
    d = make(output, 30, window=8)
    for slot in (0, 1, 2):
        d.offer(slot, 4)
    chunks = dict(d.dispatch())
    assert sorted(t.index for c in chunks.values() for t in c) == list(range(8))
    late = chunks[1]  # rows 4..7 finish first: buffered, the window does not move
    finish(output, late)
    for task in late:
        assert d.finished(1, task.index) is task
    d.offer(1, 4)
    assert d.dispatch() == []
    assert output.next == 0
    first = chunks[0]  # rows 0..3: everything up to 7 is written, the window opens to 16
    finish(output, first)
    for task in first:
        d.finished(0, task.index)
    assert output.next == 8
    assert [(slot, [t.index for t in c]) for slot, c in d.dispatch()] == [
        (2, [8, 9, 10, 11]),  # slot 2 has waited longest
        (1, [12, 13, 14, 15]),
    ]
    d.offer(0, 4)
    assert d.dispatch() == []  # 16 = next (8) + window (8)
    assert output.peak == 8
    lines = (tmp_path / "out.jsonl").read_bytes().splitlines()
    assert lines == [b'{"i":%d}' % i for i in range(8)]


def test_a_lost_workers_rows_go_out_first_and_only_started_ones_are_repaid(tmp_path: Path):
    d = make(open_output(tmp_path), 40)
    d.offer(0, 4)
    d.offer(1, 4)
    _, (_, b) = d.dispatch()
    d.started(1, [b[0].index, b[1].index])  # 5, 4 started; 6, 7 still queued in the worker
    lost = d.lost(1)
    assert (lost.rows, lost.repaid) == (4, 2)
    d.offer(0, 8)
    d.offer(2, 4)
    again = d.dispatch()
    assert [t.index for t in again[0][1]] == [4, 5, 6, 7]  # re-queued rows first, in order
    assert not any(t.started for t in again[0][1])
    assert [t.index for t in again[1][1]] == [8, 9, 10, 11]
    assert (d.repaid, d.redispatched) == (2, 4)
    assert d.finished(1, 4) is None  # a late answer from the dead worker is not taken


def test_rows_given_back_are_not_repaid_and_a_stop_requeues_nothing(tmp_path: Path):
    d = make(open_output(tmp_path), 40)
    d.offer(0, 4)
    ((_, chunk),) = d.dispatch()
    d.started(0, [t.index for t in chunk])
    assert d.returned(0, [chunk[2].index, chunk[3].index]) == 2
    assert d.repaid == 0
    assert [t.index for t in d.redispatch] == [2, 3]
    d.stop()
    d.offer(1, 4)
    assert d.dispatch() == []
    assert d.lost(0).repaid == 2  # counted: paid once, run again on resume
    assert not d.redispatch
    assert not d.needs_input()


def test_skipped_and_oversize_rows_never_reach_a_worker(tmp_path: Path):
    output = open_output(tmp_path)
    seen: list[int] = []

    def oversize(row: RawRow) -> bool:
        seen.append(row.index)
        output.record([(row.index, "error", row.digest, b'{"oversize":%d}' % row.index)])
        return True

    d = Dispatcher(
        chunk_size=4, window=100, head=output, skip=lambda i: i % 2 == 1, on_oversize=oversize
    )
    rows = raw_rows(8)
    rows[2] = rows[2]._replace(raw=None)
    d.add(rows, eof=True)
    d.offer(0, 4)
    ((_, chunk),) = d.dispatch()
    assert [t.index for t in chunk] == [0, 4, 6]
    assert (seen, d.skipped) == ([2], 4)
    assert d.drained is False
    for task in chunk:
        d.finished(0, task.index)
    assert d.drained


def test_the_journal_gets_every_row_before_the_output(tmp_path: Path):
    output = open_output(tmp_path)
    rows = raw_rows(3)
    output.record([(2, "ok", rows[2].digest, b'{"r":2}'), (1, "error", rows[1].digest, b"{}")])
    state = scan(str(tmp_path / "out.jsonl.journal"))
    assert [state.has(i) for i in range(3)] == [False, True, True]
    assert (tmp_path / "out.jsonl").read_bytes() == b""
    output.record([(0, "ok", rows[0].digest, b'{"r":0}')])
    assert (tmp_path / "out.jsonl").read_bytes() == b'{"r":0}\n{}\n{"r":2}\n'


def test_a_full_disk_is_a_storage_error_naming_the_file_and_errno(tmp_path: Path):
    """/dev/full answers every write with ENOSPC, as a full disk does."""
    path = tmp_path / "out.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    journal = Journal("/dev/full")
    output = OrderedOutput(journal, OrderedWriter(fd), str(path))
    with pytest.raises(StorageError) as caught:
        output.record([(0, "ok", 1, b"{}")])
    assert caught.value.path == "/dev/full"
    assert caught.value.errno == errno.ENOSPC
    assert str(caught.value) == "cannot write /dev/full: No space left on device (ENOSPC, errno 28)"
    good = Journal(str(tmp_path / "j"), header({}))
    full = os.open("/dev/full", os.O_WRONLY)
    output = OrderedOutput(good, OrderedWriter(full), "results.jsonl")
    with pytest.raises(StorageError, match=r"cannot write results.jsonl: .*ENOSPC"):
        output.record([(0, "ok", 1, b"{}")])


def test_signals_are_counted_not_raised_while_owned():
    with StopSignals() as signals:
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
    assert signals.count == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_deleted_or_replaced_file_is_a_storage_error(tmp_path: Path):
    output = open_output(tmp_path)
    output.check()
    journal = tmp_path / "out.jsonl.journal"
    journal.rename(tmp_path / "moved")
    journal.write_bytes(b"")  # another file under the same name
    with pytest.raises(StorageError, match=r"out\.jsonl\.journal was deleted") as caught:
        output.check()
    assert caught.value.errno == errno.ENOENT
    (tmp_path / "moved").replace(journal)
    output.check()
    (tmp_path / "out.jsonl").unlink()
    with pytest.raises(StorageError, match=r"out\.jsonl was deleted or replaced during the run"):
        output.check()
