"""A row's ``id`` (and an OpenAI line's ``custom_id``) comes back byte for byte as the input
wrote it, whatever its JSON type: big integers, ``1.50``, escapes, nested values."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastcrew.batch.config import WorkerConfig
from fastcrew.batch.members import member_text
from fastcrew.batch.rows import BAD, OK
from fastcrew.batch.worker.runner import RowRunner
from fastcrew.sim import SpawnedSim, spawn

from .helpers import CREW, batch_cmd

# -- JSON texts, written every way JSON allows ---------------------------------------------

_WS = st.sampled_from(["", "", " ", "\t", "  "])
_SHORT = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\n": "\\n", "\t": "\\t", "\b": "\\b"}


@st.composite
def _string_text(draw: st.DrawFn) -> str:
    out = ['"']
    for char in draw(st.text(max_size=12)):
        code = ord(char)
        style = draw(st.sampled_from(["raw", "raw", "u", "short"]))
        if style == "short" and char in _SHORT:
            out.append(_SHORT[char])
        elif style == "u" or code < 0x20 or char in '"\\':
            if code > 0xFFFF:
                code -= 0x10000
                pair = (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF))
                out.append("".join(f"\\u{unit:04x}" for unit in pair))
            else:
                hex_ = f"{code:04x}"
                out.append("\\u" + (hex_.upper() if draw(st.booleans()) else hex_))
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


_NUMBER = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.sampled_from(["-0", "0", "-9223372036854775808", "18446744073709551616", "1.50"]),
    st.from_regex(r"-?(0|[1-9][0-9]{0,20})(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,2})?", fullmatch=True),
)
_SCALAR = st.one_of(_NUMBER, _string_text(), st.sampled_from(["true", "false", "null"]))


def _join(draw: st.DrawFn, parts: list[str], open_: str, close: str) -> str:
    sep = draw(_WS) + "," + draw(_WS)
    return open_ + draw(_WS) + sep.join(parts) + draw(_WS) + close


@st.composite
def _array(draw: st.DrawFn, inner: st.SearchStrategy[str]) -> str:
    return _join(draw, draw(st.lists(inner, max_size=3)), "[", "]")


@st.composite
def _object(draw: st.DrawFn, inner: st.SearchStrategy[str]) -> str:
    members = [
        f"{draw(_string_text())}{draw(_WS)}:{draw(_WS)}{value}"
        for value in draw(st.lists(inner, max_size=3))
    ]
    return _join(draw, members, "{", "}")


_VALUE = st.recursive(_SCALAR, lambda inner: st.one_of(_array(inner), _object(inner)), max_leaves=6)


@st.composite
def _line(draw: st.DrawFn, key: str, others: list[str]) -> tuple[bytes, bytes]:
    """(an input line whose top-level ``key`` is a drawn value, that value's text)."""
    value = draw(_VALUE)
    spelled = draw(st.sampled_from([key, key, key.replace("i", "\\u0069", 1)]))
    members = [f'"{spelled}"{draw(_WS)}:{draw(_WS)}{value}', *others]
    decoys = [
        f'"meta":{{"{key}":"decoy","x":[{{"{key}":1}}]}}',
        f'"note":"say \\"{key}\\": 2"',
        f'"{key}x":3',
    ]
    members += draw(st.lists(st.sampled_from(decoys), max_size=3, unique=True))
    members = draw(st.permutations(members))
    return _join(draw, members, "{", "}").encode(), value.encode()


# -- the rows --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[SpawnedSim]:
    with spawn(seed=3) as server:
        yield server


@pytest.fixture(scope="module")
def runner(sim: SpawnedSim) -> Iterator[tuple[RowRunner, asyncio.AbstractEventLoop]]:
    """A worker's row runner on the crew, and the one loop its LLM client lives on."""
    patch = pytest.MonkeyPatch()
    patch.setenv("OPENAI_BASE_URL", sim.base_url)
    patch.setenv("OPENAI_API_KEY", "sk-test")
    config = WorkerConfig(
        crew=CREW,
        concurrency=1,
        chunk_size=1,
        loop="asyncio",
        rpm=None,
        tpm=None,
        model="gpt-4o-mini",
        base_url=sim.base_url,
        api_key="sk-test",
        simulated=False,
        timeout=None,
        max_line_bytes=1 << 20,
    )
    loop = asyncio.new_event_loop()
    try:
        yield RowRunner(config), loop
    finally:
        loop.close()
        patch.undo()


_PROPERTY = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_PROPERTY
@given(case=_line("id", ['"topic":"ids"']))
def test_any_id_text_comes_back_byte_for_byte_in_a_crew_row(
    runner: tuple[RowRunner, asyncio.AbstractEventLoop], case: tuple[bytes, bytes]
):
    rows, loop = runner
    line, text = case
    assert member_text(line, "id") == text
    result = loop.run_until_complete(rows.run(0, 1, line, 1))
    assert result.kind == OK, result.row
    assert result.row.startswith(b'{"index":0,"id":' + text + b',"status":"ok",'), result.row


@_PROPERTY
@given(case=_line("custom_id", ['"method":"POST"', '"url":"/v1/nope"', '"body":{}']))
def test_any_custom_id_text_comes_back_byte_for_byte_in_an_openai_row(
    runner: tuple[RowRunner, asyncio.AbstractEventLoop], case: tuple[bytes, bytes]
):
    rows, loop = runner
    line, text = case
    result = loop.run_until_complete(rows.run(5, 6, line, 1))
    assert result.kind == BAD
    expected = b'{"id":"batch_req_5","custom_id":' + text + b',"response":null,"error":{'
    assert result.row.startswith(expected), result.row


IDS = [
    b"123456789012345678901234567890",
    b"18446744073709551616",
    b"-9223372036854775808",
    b"1.50",
    b'"caf\\u00e9 \\"q\\""',
]


def test_big_and_odd_ids_survive_a_real_batch_run(tmp_path: Path, sim: SpawnedSim):
    inputs = tmp_path / "in.jsonl"
    crew_lines = [b'{"id": %b, "topic": "t%d"}' % (ident, i) for i, ident in enumerate(IDS)]
    body = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'
    openai_lines = [
        b'{"custom_id": %b, "method": "POST", "url": "/v1/chat/completions", "body": %b}'
        % (ident, body)
        for ident in IDS
    ]
    inputs.write_bytes(b"\n".join(crew_lines + openai_lines) + b"\n")
    out = tmp_path / "out.jsonl"
    done = subprocess.run(batch_cmd(inputs, out, sim.base_url), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    rows = out.read_bytes().splitlines()
    for i, ident in enumerate(IDS):
        assert rows[i].startswith(b'{"index":%d,"id":%b,"status":"ok"' % (i, ident)), rows[i]
        n = i + len(IDS)
        head = b'{"id":"batch_req_%d","custom_id":%b,"response":{"status_code":200,' % (n, ident)
        assert rows[n].startswith(head), rows[n]
