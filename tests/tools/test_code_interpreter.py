"""The code interpreter runs real subprocesses: environment, limits, timeouts, cancellation."""

from __future__ import annotations

import asyncio
import json
import os
import select
from pathlib import Path

import pytest

from fastcrew._loop import run as uvloop_run
from fastcrew.sim import Simulator
from fastcrew.tools import CodeInterpreterTool, ToolRunState, code_interpreter, run_python


def is_dead(pid: int) -> bool:
    """Whether ``pid`` has exited; a SIGKILL is delivered at once but the exit itself follows,
    so this waits for it (a pidfd turns readable on exit; up to 10 s)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], 10.0)
        return bool(readable)
    finally:
        os.close(fd)


def is_running(pid: int) -> bool:
    """Whether ``pid`` exists and has not exited (not a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def removed(path: str) -> bool:
    return not Path(path).exists()


def read_fifo(path: Path) -> str:
    with path.open() as f:  # blocks until the child has written and closed it
        return f.read()


async def test_runs_code_with_crewais_arguments() -> None:
    interpreter = CodeInterpreterTool()
    assert interpreter.name == "Code Interpreter"
    assert set(interpreter.parameters()["properties"]) == {"code", "libraries_used"}
    result = await interpreter.ainvoke(
        {"code": "import math\nprint(math.factorial(10))", "libraries_used": ["math"]},
        state=ToolRunState(),
    )
    assert (result.text, result.error) == ("3628800", False)


async def test_the_environment_is_stripped_and_the_directory_private(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-parent-secret-not-real")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    code = (
        "import json, os, sys\n"
        "print(json.dumps({'env': sorted(os.environ), 'cwd': os.getcwd(),"
        " 'listing': os.listdir('.'), 'isolated': sys.flags.isolated}))"
    )
    run = await run_python(code)
    seen = json.loads(run.output)
    assert seen["env"] == ["HOME", "LANG", "LC_ALL", "PATH", "PYTHONIOENCODING", "TMPDIR"]
    assert "sk-parent-secret" not in run.output
    assert seen["listing"] == ["main.py"]
    assert seen["isolated"] == 1
    assert removed(seen["cwd"])


async def test_extra_env_is_passed_only_when_named() -> None:
    run = await run_python("import os; print(os.environ['GREETING'])", env={"GREETING": "hi"})
    assert run.output.strip() == "hi"


async def test_a_failing_program_is_a_result_not_a_tool_error() -> None:
    code = "def f():\n    raise ValueError('boom')\n\nf()\n"
    result = await CodeInterpreterTool().ainvoke({"code": code})
    assert not result.error
    lines = result.text.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert 'main.py", line 4, in <module>' in lines[1]  # the code's frames only
    assert "runpy" not in result.text
    assert lines[-2:] == ["ValueError: boom", "[exit status 1]"]


async def test_sys_exit_keeps_its_status() -> None:
    run = await run_python("import sys\nprint('bye')\nsys.exit(3)")
    assert (run.output, run.exit_code) == ("bye\n", 3)


async def test_timeout_kills_the_whole_process_group() -> None:
    code = (
        "import subprocess, sys\n"
        "child = subprocess.Popen(['sleep', '60'])\n"
        "print(child.pid, flush=True)\n"
        "while True:\n"
        "    pass\n"
    )
    run = await run_python(code, time_limit=1.0)
    assert run.timed_out
    assert run.exit_code == -9
    assert "past the time limit" in run.text
    assert is_dead(int(run.output.split()[0]))


async def test_children_left_running_are_killed_without_waiting_for_the_timeout() -> None:
    code = "import subprocess\nprint(subprocess.Popen(['sleep', '60']).pid)\n"
    run = await run_python(code, time_limit=60.0)
    assert not run.timed_out
    assert run.exit_code == 0
    assert is_dead(int(run.output.split()[0]))


async def test_cancellation_kills_the_process(tmp_path: Path) -> None:
    fifo = tmp_path / "started"
    os.mkfifo(fifo)
    code = (
        "import os, time\n"
        f"with open({str(fifo)!r}, 'w') as f:\n"
        "    f.write(str(os.getpid()))\n"
        "time.sleep(60)\n"
    )
    task = asyncio.ensure_future(CodeInterpreterTool().ainvoke({"code": code}))
    pid = int(await asyncio.to_thread(read_fifo, fifo))
    assert is_running(pid)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert is_dead(pid)


async def test_output_is_bounded() -> None:
    run = await run_python("print('x' * 200_000)\nprint('tail')", max_output_chars=1000)
    assert run.truncated
    assert len(run.output) == 1000
    assert run.text.endswith("[output cut at the size limit]")


async def test_memory_is_limited() -> None:
    code = "b = bytearray(512 * 1024 * 1024)\nprint('allocated')"
    run = await run_python(code, memory_limit_mb=256)
    assert "MemoryError" in run.output
    assert "allocated" not in run.output


async def test_no_network_not_even_loopback(sim: Simulator) -> None:
    port = int(sim.base_url.rsplit(":", 1)[1].split("/")[0])
    _, writer = await asyncio.open_connection("127.0.0.1", port)  # the parent can
    writer.close()
    await writer.wait_closed()
    code = (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=5)\n"
        "    print('connected')\n"
        "except OSError as exc:\n"
        "    print('refused:', exc)\n"
    )
    run = await run_python(code)
    assert run.network_isolated
    assert run.output.startswith("refused:")


def test_runs_on_uvloop_as_agents_do() -> None:
    code = "import subprocess\nprint(subprocess.Popen(['sleep', '60']).pid)\nprint('done')"
    run = uvloop_run(run_python(code, time_limit=60.0))
    assert not run.timed_out
    assert run.output.split()[1] == "done"
    assert is_dead(int(run.output.split()[0]))


async def test_interpreters_at_once_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(code_interpreter, "MAX_PROCESSES", 1)  # read per loop, on first use
    code = "import time\nprint(time.monotonic())\nsum(range(10**5))\nprint(time.monotonic())"
    runs = await asyncio.gather(*(run_python(code) for _ in range(3)))
    spans = sorted(tuple(map(float, run.output.split())) for run in runs)
    assert all(spans[i][1] < spans[i + 1][0] for i in range(2))  # one after the other
