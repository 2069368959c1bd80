"""The file layer, without processes: the line reader, the journal, the ordered writer and
the resume plan (torn lines, consistency checks)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import zlib
from pathlib import Path

import pytest

from fastcrew.batch.config import BatchConfig
from fastcrew.batch.rows import LineError, is_error_row, parse_line
from fastcrew.batch.storage.inputs import LineReader, input_identity, open_input, row_digest
from fastcrew.batch.storage.journal import Journal, JournalError, compact, header, record, scan
from fastcrew.batch.storage.ordered_writer import BaseFilePrior, JournalPrior, OrderedWriter
from fastcrew.batch.storage.plan import make_plan
from fastcrew.errors import ConfigurationError


def reader(data: bytes, limit: int = 1 << 20) -> LineReader:
    return LineReader(io.BytesIO(data), max_line_bytes=limit)


def test_reader_numbers_rows_and_lines_and_skips_blank_lines():
    rows = reader(b'{"a":1}\n\n  \r\n{"b":2}\r\n{"c":3}').read(100)
    assert [(r.index, r.line, r.raw) for r in rows] == [
        (0, 1, b'{"a":1}'),
        (1, 4, b'{"b":2}\r'),
        (2, 5, b'{"c":3}'),
    ]
    assert rows[0].digest == row_digest(b'{"a":1}')


def test_reader_returns_rows_a_few_at_a_time_until_done():
    data = b"".join(b'{"i":%d}\n' % i for i in range(1000))
    r = reader(data)
    got = []
    while not r.done:
        got += r.read(7)
    assert [row.index for row in got] == list(range(1000))
    assert r.read(7) == []


@pytest.mark.parametrize("size", [100, 3 * (1 << 20) + 5])
def test_an_oversize_line_is_skipped_not_kept(size: int):
    long = b"x" * size
    r = reader(b'{"a":1}\n' + long + b'\n{"b":2}\n', limit=50)
    rows = r.read(10)
    assert [(row.index, row.line, row.raw, row.size) for row in rows] == [
        (0, 1, b'{"a":1}', 7),
        (1, 2, None, size),
        (2, 3, b'{"b":2}', 7),
    ]
    assert rows[1].digest == row_digest(long)


BOM = b"\xef\xbb\xbf"


class Trickle(io.RawIOBase):
    """A stream returning one byte per read (a slow pipe)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk, self.data = self.data[:1], self.data[1:]
        return chunk


def test_a_byte_order_mark_at_the_start_of_the_input_is_dropped(tmp_path: Path):
    data = BOM + b'{"a":1}\n' + BOM + b'{"b":2}\n'
    expected = [b'{"a":1}', BOM + b'{"b":2}']  # only the input's first bytes are a mark
    assert [r.raw for r in reader(data).read(10)] == expected
    stream = Trickle(data)
    assert [r.raw for r in LineReader(stream).read(10)] == expected  # type: ignore[arg-type]
    packed = tmp_path / "in.jsonl.gz"
    packed.write_bytes(gzip.compress(data))
    assert [r.raw for r in LineReader(open_input(str(packed))).read(10)] == expected
    assert parse_line(reader(data).read(1)[0].raw or b"") == {"a": 1}
    assert [r.raw for r in reader(b"\xef\xbb").read(10)] == [b"\xef\xbb"]  # no mark: kept
    assert [r.raw for r in reader(BOM).read(10)] == []


def test_gzip_input_and_identity(tmp_path: Path):
    data = b'{"a":1}\n{"b":2}\n'
    plain = tmp_path / "in.jsonl"
    plain.write_bytes(data)
    packed = tmp_path / "in.jsonl.gz"
    packed.write_bytes(gzip.compress(data))
    assert [r.raw for r in LineReader(open_input(str(packed))).read(10)] == [
        b'{"a":1}',
        b'{"b":2}',
    ]
    ident = input_identity(str(plain))
    assert ident.sha256 == hashlib.sha256(data).hexdigest()
    assert (ident.size, ident.lines) == (len(data), 2)
    assert input_identity(str(packed)).lines is None
    assert input_identity("-").sha256 is None


def test_line_classification():
    assert parse_line(b' {"topic": "x"} ') == {"topic": "x"}
    for raw, kind in (
        (b"{nope", "InvalidJSON"),
        (b'"just a string"', "NotAnObject"),
        (b"[1]", "NotAnObject"),
        (b'{"t": "\xff"}', "InvalidUTF8"),
    ):
        with pytest.raises(LineError) as caught:
            parse_line(raw)
        assert caught.value.type == kind
    assert is_error_row(b'{"index":0,"status":"error"}')
    assert not is_error_row(b'{"index":0,"status":"ok","output":{"status":"error"}}')
    assert is_error_row(b'{"id":"b","custom_id":"c","response":null,"error":{"code":"x"}}')
    ok = b'{"id":"b","custom_id":"c","response":{"status_code":200},"error":null}'
    assert not is_error_row(ok)


def make_journal(path: Path, rows: dict[int, bytes]) -> None:
    journal = Journal(str(path), header({"path": "in.jsonl", "size": 1, "sha256": "abc"}))
    journal.append([record(i, "ok", i, row) for i, row in rows.items()])
    journal.close()


def test_journal_round_trip_and_torn_last_line_is_cut(tmp_path: Path):
    path = tmp_path / "j"
    make_journal(path, {2: b'{"index":2}', 0: b'{"index":0}'})
    intact = path.stat().st_size
    with path.open("ab") as f:
        f.write(b'{"i":1,"s":"ok","h":"00000000000000')  # torn by a kill -9 mid-write
    state = scan(str(path))
    assert state.repaired_bytes > 0
    assert path.stat().st_size == intact
    assert [state.has(i) for i in range(3)] == [True, False, True]
    assert state.digest[2] == 2
    with path.open("rb") as f:
        f.seek(state.offset[2])
        assert f.read(state.length[2]) == b'{"index":2}'
    compact(str(path), scan(str(path)).header, 3)
    done = scan(str(path))
    assert done.complete == 3
    assert done.records == 0


def test_a_foreign_or_damaged_journal_is_refused(tmp_path: Path):
    path = tmp_path / "j"
    path.write_text('{"hello": 1}\n')
    with pytest.raises(JournalError, match="not a fastcrew journal"):
        scan(str(path))
    make_journal(path, {0: b"{}"})
    with path.open("ab") as f:
        f.write(b"garbage in the middle\n" + record(1, "ok", 1, b"{}"))
    with pytest.raises(JournalError, match="unreadable record"):
        scan(str(path))


def test_journal_records_that_fail_their_check_are_not_finished_rows(tmp_path: Path):
    """A flipped byte (valid JSON or not) or a lost newline: the rows run again."""
    path = tmp_path / "j"
    rows = {i: b'{"index":%d,"raw":"topic-%d"}' % (i, i) for i in range(6)}
    make_journal(path, rows)
    data = bytearray(path.read_bytes())
    lines = data.split(b"\n")
    lines[2] = lines[2].replace(b"topic-1", b"topic-7")  # still valid JSON: caught by the CRC
    lines[3] = lines[3].replace(b'"row":{', b'"row":[')  # invalid JSON
    lines[4] = lines[4] + b" " + lines[5]  # a newline lost: two records merged
    del lines[5]
    path.write_bytes(b"\n".join(lines))
    state = scan(str(path))
    assert [state.has(i) for i in range(6)] == [True, False, False, False, False, True]
    assert state.corrupt == 3
    with path.open("rb") as f:
        f.seek(state.offset[5])
        assert f.read(state.length[5]) == rows[5]
    old = b'{"i":0,"s":"ok","h":"0000000000000000","row":{"index":0}}\n'  # before checksums
    path.write_bytes(path.read_bytes().split(b"\n")[0] + b"\n" + old + old[:-3] + b"\n")
    state = scan(str(path))
    assert (state.has(0), state.length[0], state.corrupt) == (True, 11, 1)
    line = record(3, "ok", 3, b"{}")
    body = line[: line.index(b',"c":')]
    assert line.endswith(b',"c":"%08x"}\n' % zlib.crc32(body))


def test_the_writer_refuses_to_write_past_a_truncated_file(tmp_path: Path):
    out = tmp_path / "out"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    writer = OrderedWriter(fd)
    writer.add_many([(0, b'{"index":0}'), (1, b'{"index":1}')])
    os.truncate(out, 5)
    with pytest.raises(OSError, match="truncated or wrote to it"):
        writer.add(2, b'{"index":2}')
    os.close(fd)
    assert out.read_bytes() == b'{"ind'  # nothing appended after the cut


def test_ordered_writer_puts_any_completion_order_in_input_order(tmp_path: Path):
    out = tmp_path / "out"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    writer = OrderedWriter(fd)
    order = list(range(500))
    random.Random(5).shuffle(order)
    for i in order:
        writer.add(i, b'{"index":%d}' % i)
    os.close(fd)
    assert out.read_bytes().splitlines() == [b'{"index":%d}' % i for i in range(500)]
    assert writer.next == 500
    assert 0 < writer.peak < 500
    assert not writer.pending


def test_ordered_writer_takes_earlier_rows_from_a_prior(tmp_path: Path):
    journal = tmp_path / "j"
    make_journal(journal, {1: b'{"index":1,"old":true}', 3: b'{"index":3,"old":true}'})
    state = scan(str(journal))
    out = tmp_path / "out"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    read_fd = os.open(journal, os.O_RDONLY)
    writer = OrderedWriter(fd, 0, JournalPrior(read_fd, state))
    writer.add(2, b'{"index":2}')
    assert out.read_bytes() == b""
    writer.add(0, b'{"index":0}')
    assert out.read_bytes().splitlines() == [
        b'{"index":0}',
        b'{"index":1,"old":true}',
        b'{"index":2}',
        b'{"index":3,"old":true}',
    ]
    os.close(fd)
    os.close(read_fd)
    base = tmp_path / "base"
    base.write_bytes(b"".join(b'{"index":%d}\n' % i for i in range(6)))
    base_fd = os.open(base, os.O_RDONLY)
    starts = {0: 0, 1: 12, 2: 24, 3: 36, 4: 48, 5: 60, 6: 72}
    new = b'{"index":4,"new":true}'
    prior = BaseFilePrior(base_fd, 6, rerun={1, 3}, overrides={4: new}, starts=starts)
    assert prior.span(0) == (1, base_fd, 0, 12)
    assert [prior.span(1), prior.lookup(1)] == [None, None]
    assert prior.span(2) == (1, base_fd, 24, 12)
    assert [prior.span(4), prior.lookup(4)] == [None, new]
    assert prior.span(5) == (1, base_fd, 60, 12)
    assert [prior.span(6), prior.lookup(6)] == [None, None]
    out2 = tmp_path / "out2"
    fd = os.open(out2, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    writer = OrderedWriter(fd, 0, prior)
    writer.add_many([(3, b'{"index":3,"rerun":true}')])
    assert writer.next == 1  # row 0 copied, row 1 is being re-run
    writer.add(1, b'{"index":1,"rerun":true}')
    assert writer.next == 6
    os.close(fd)
    os.close(base_fd)
    assert out2.read_bytes().splitlines() == [
        b'{"index":0}',
        b'{"index":1,"rerun":true}',
        b'{"index":2}',
        b'{"index":3,"rerun":true}',
        new,
        b'{"index":5}',
    ]


def config(tmp_path: Path, **kw: object) -> BatchConfig:
    inputs = tmp_path / "in.jsonl"
    if not inputs.exists():
        inputs.write_text("".join(json.dumps({"topic": i}) + "\n" for i in range(4)))
    return BatchConfig(inputs=str(inputs), output=str(tmp_path / "out.jsonl"), **kw)  # type: ignore[arg-type]


def test_resume_repairs_a_torn_output_line_and_continues(tmp_path: Path):
    cfg = config(tmp_path)
    plan = make_plan(cfg, input_identity(cfg.inputs))
    assert plan.kind == "fresh"
    assert plan.journal is not None
    assert plan.writer is not None
    rows = {i: b'{"index":%d}' % i for i in range(3)}
    plan.journal.append([record(i, "ok", 0, row) for i, row in rows.items()])
    plan.writer.add_many(list(rows.items()))
    plan.close()
    with open(cfg.output, "ab") as f:
        f.write(b'{"index":3,"sta')  # torn: the supervisor died mid-write
    again = make_plan(cfg, input_identity(cfg.inputs))
    assert again.kind == "continue"
    assert again.writer is not None
    assert again.writer.next == 3
    assert [again.skip(i) for i in range(4)] == [True, True, True, False]
    again.writer.add(3, b'{"index":3}')
    again.finish(complete=True)
    assert Path(cfg.output).read_bytes().splitlines() == [b'{"index":%d}' % i for i in range(4)]
    assert make_plan(cfg, input_identity(cfg.inputs)).kind == "complete"


def test_an_output_that_disagrees_with_its_journal_is_rebuilt_from_it(tmp_path: Path):
    cfg = config(tmp_path)
    plan = make_plan(cfg, input_identity(cfg.inputs))
    assert plan.journal is not None
    plan.journal.append([record(i, "ok", 0, b'{"index":%d}' % i) for i in range(2)])
    plan.close()
    Path(cfg.output).write_bytes(b'{"index":"edited by hand"}\n')
    again = make_plan(cfg, input_identity(cfg.inputs))
    assert again.writer is not None
    assert again.writer.next == 2  # rebuilt from the journal by the plan, before the run
    again.close()
    assert Path(cfg.output).read_bytes() == b'{"index":0}\n{"index":1}\n'


def test_the_journal_is_not_compacted_over_rows_the_output_lost(tmp_path: Path):
    cfg = config(tmp_path)
    plan = make_plan(cfg, input_identity(cfg.inputs))
    assert plan.journal is not None
    assert plan.writer is not None
    rows = [(i, b'{"index":%d}' % i) for i in range(4)]
    plan.journal.append([record(i, "ok", 0, row) for i, row in rows])
    plan.writer.add_many(rows)
    os.truncate(cfg.output, 24)  # two rows cut by something else
    journal = Path(cfg.journal_path).read_bytes()
    with pytest.raises(OSError, match="truncated"):
        plan.finish(complete=True)
    assert Path(cfg.journal_path).read_bytes() == journal  # not compacted: rows still there
    again = make_plan(cfg, input_identity(cfg.inputs))
    assert again.writer is not None
    assert again.writer.next == 4
    again.finish(complete=True)
    assert Path(cfg.output).read_bytes().splitlines() == [row for _, row in rows]


def test_a_finished_output_that_was_edited_is_refused(tmp_path: Path):
    cfg = config(tmp_path)
    plan = make_plan(cfg, input_identity(cfg.inputs))
    assert plan.writer is not None
    plan.writer.add_many([(i, b'{"index":%d}' % i) for i in range(4)])
    plan.finish(complete=True)
    with open(cfg.output, "ab") as f:
        f.write(b'{"index":4}\n')
    with pytest.raises(ConfigurationError, match="changed since its run completed"):
        make_plan(cfg, input_identity(cfg.inputs))


def test_the_supervisor_side_stays_light():
    """The supervisor never loads the crew runtime, pydantic, aiohttp or rich (until a bar)."""
    import subprocess
    import sys

    code = (
        "import sys, fastcrew.cli, fastcrew.batch.api, fastcrew.batch.supervisor.supervisor; "
        "heavy = {'pydantic', 'aiohttp', 'httpx', 'rich', 'fastcrew.runtime'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
