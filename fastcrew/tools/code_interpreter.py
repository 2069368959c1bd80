"""``CodeInterpreterTool``: the tool ``allow_code_execution=True`` gives an agent.

The code never runs in this process. Each call is a fresh ``python -I`` **subprocess**
(``run_python``) with:

- a new, empty temporary working directory (also its ``HOME`` and ``TMPDIR``), removed after;
- a stripped environment: ``PATH``, ``LANG`` / ``LC_ALL``, ``PYTHONIOENCODING``, ``HOME``,
  ``TMPDIR`` and nothing else (no API keys, credentials, proxies), plus what ``env=`` names;
  ``-I`` also ignores every ``PYTHON*`` variable and the user's site-packages;
- a wall-clock ``timeout``, after which its whole process group is killed (also on
  cancellation, and leftover children once the main process exits);
- resource limits set in the child before the code runs (POSIX): address space
  (``memory_limit_mb``), CPU seconds (timeout + 1), size of files it writes
  (``max_file_mb``), no core dumps;
- its own network namespace when ``unshare`` can make one without privileges (Linux with
  user namespaces): then it has no network at all, not even loopback. ``isolate_network``:
  ``None`` (default) isolates when possible, ``True`` refuses to run without it, ``False``
  never isolates;
- output (stdout and stderr, interleaved) capped at ``max_output_chars``.
- at most ``MAX_PROCESSES`` interpreters running at once per event loop (more calls wait).

It is **not** a sandbox: the code runs as this user and can read and write whatever this user
can (outside its working directory too) and, without a network namespace, reach the network.
CrewAI runs code in Docker for that; see docs/tools.md.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import os
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from ..process_runtime import get_runtime
from .base import BaseTool

__all__ = ["CodeInterpreterSchema", "CodeInterpreterTool", "CodeRun", "run_python"]

_LAUNCHER = """\
import sys
def _limit(name, value):
    try:
        import resource
    except ImportError:
        return
    what = getattr(resource, name, None)
    if what is None or value < 0:
        return
    try:
        resource.setrlimit(what, (value, value))
    except (ValueError, OSError):
        pass
_limit("RLIMIT_CORE", 0)
_limit("RLIMIT_AS", int(sys.argv[2]))
_limit("RLIMIT_CPU", int(sys.argv[3]))
_limit("RLIMIT_FSIZE", int(sys.argv[4]))
import runpy
sys.argv = [sys.argv[1]]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit:
    raise
except BaseException as exc:  # the traceback from the code's own frames, not the launcher's
    import traceback
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != sys.argv[0]:
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb or exc.__traceback__)
    sys.exit(1)
"""

MAX_PROCESSES = max(4, 2 * (os.cpu_count() or 1))
"""Code interpreter subprocesses running at once per event loop; more calls wait their turn
(a batch of crews that all run code must not start thousands of interpreters at once)."""
_SLOTS = "code_interpreter.slots"
_netns_prefix: list[str] | None = None
_netns_probed = False


@dataclass(frozen=True, slots=True)
class CodeRun:
    """The outcome of one :func:`run_python`."""

    output: str
    exit_code: int | None
    timed_out: bool
    truncated: bool
    network_isolated: bool

    @property
    def text(self) -> str:
        """The observation: the output and, when it matters, how the run ended."""
        notes = []
        if self.truncated:
            notes.append("[output cut at the size limit]")
        if self.timed_out:
            notes.append("[stopped: the code ran past the time limit]")
        elif self.exit_code is not None and self.exit_code < 0:
            notes.append(f"[killed by signal {-self.exit_code} (a resource limit?)]")
        elif self.exit_code:
            notes.append(f"[exit status {self.exit_code}]")
        if not self.output.strip() and not notes:
            return "(the code printed nothing: print the result you need)"
        return "\n".join([self.output.rstrip("\n"), *notes]).strip("\n")


async def _network_prefix() -> list[str] | None:
    """``unshare`` arguments that give the child an empty network namespace, if possible."""
    global _netns_prefix, _netns_probed
    if _netns_probed:
        return _netns_prefix
    found: list[str] | None = None
    unshare = shutil.which("unshare") if sys.platform.startswith("linux") else None
    if unshare is not None:
        for mapping in ("--map-current-user", "--map-root-user"):
            prefix = [unshare, "--net", mapping]
            try:
                proc = await asyncio.create_subprocess_exec(
                    *prefix,
                    "true",
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
                if await proc.wait() == 0:
                    found = prefix
                    break
            except OSError:
                break
    _netns_prefix, _netns_probed = found, True
    return found


def _clean_env(home: str, extra: dict[str, str]) -> dict[str, str]:
    env = {
        "PATH": os.pathsep.join(["/usr/local/bin", "/usr/bin", "/bin"]),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "HOME": home,
        "TMPDIR": home,
    }
    if os.name == "nt":  # Windows cannot start Python without these
        for name in ("SYSTEMROOT", "COMSPEC"):
            if name in os.environ:
                env[name] = os.environ[name]
    env.update(extra)
    return env


def _process_slot() -> asyncio.Semaphore:
    """This loop's bound on running interpreters (``MAX_PROCESSES`` when first used)."""
    resources = get_runtime().loop_state().resources
    slot: asyncio.Semaphore | None = resources.get(_SLOTS)
    if slot is None:
        slot = resources[_SLOTS] = asyncio.Semaphore(MAX_PROCESSES)
    return slot


def _prepare(code: str) -> str:
    """A fresh private directory holding ``main.py``."""
    workdir = tempfile.mkdtemp(prefix="fastcrew-code-")
    with open(os.path.join(workdir, "main.py"), "w", encoding="utf-8") as f:
        f.write(code)
    return workdir


async def _exited(proc: asyncio.subprocess.Process) -> None:
    """Until the main process exits. ``proc.wait()`` also waits for the output pipe to close,
    which a child the code left running keeps open; a pidfd (Linux) sees the exit itself."""
    pidfd_open = getattr(os, "pidfd_open", None)
    try:
        fd = pidfd_open(proc.pid) if pidfd_open is not None else None
    except ProcessLookupError:
        return  # exited (and reaped) already
    except OSError:
        fd = None
    if fd is None:
        await proc.wait()
        return
    loop = asyncio.get_running_loop()
    exited = loop.create_future()

    def on_exit() -> None:
        if not exited.done():
            exited.set_result(None)

    loop.add_reader(fd, on_exit)
    try:
        await exited
    finally:
        loop.remove_reader(fd)
        os.close(fd)


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        elif proc.returncode is None:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass


async def run_python(
    code: str,
    *,
    time_limit: float = 30.0,
    max_output_chars: int = 20_000,
    memory_limit_mb: int | None = 2048,
    max_file_mb: int | None = 64,
    isolate_network: bool | None = None,
    python: str | None = None,
    env: dict[str, str] | None = None,
) -> CodeRun:
    """Run ``code`` in a fresh Python subprocess (see the module docstring for the limits)."""
    prefix = await _network_prefix() if isolate_network is not False else None
    if isolate_network and prefix is None:
        return CodeRun(
            "Not run: isolate_network=True but this machine cannot make a network namespace "
            "without privileges (unshare with user namespaces).",
            None,
            False,
            False,
            False,
        )
    argv = [
        *(prefix or ()),
        python or sys.executable,
        "-I",
        "-c",
        _LAUNCHER,
        "main.py",
        str(memory_limit_mb * 1024 * 1024 if memory_limit_mb else -1),
        str(math.ceil(time_limit) + 1),
        str(max_file_mb * 1024 * 1024 if max_file_mb else -1),
    ]
    async with _process_slot():
        workdir = await get_runtime().run_in_thread(_prepare, code)
        try:
            run = await _spawn(argv, workdir, env or {}, time_limit, max_output_chars)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return dataclasses.replace(run, network_isolated=prefix is not None)


async def _spawn(
    argv: list[str], workdir: str, env: dict[str, str], time_limit: float, max_output_chars: int
) -> CodeRun:
    limit_bytes = max_output_chars * 4
    buffer = bytearray()
    seen = 0
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=workdir,
        env=_clean_env(workdir, env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=os.name == "posix",
    )

    async def collect() -> None:
        nonlocal seen
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(65536):
            seen += len(chunk)
            if len(buffer) < limit_bytes:
                buffer.extend(chunk[: limit_bytes - len(buffer)])

    reader = asyncio.ensure_future(collect())
    timed_out = False
    try:
        try:
            async with asyncio.timeout(time_limit):
                await _exited(proc)
        except TimeoutError:
            timed_out = True
    finally:
        _kill_group(proc)  # the timed-out code, or children it left behind
        try:
            await proc.wait()
            await asyncio.wait_for(reader, 5.0)
        except TimeoutError:  # a grandchild that left the group still holds the pipe
            reader.cancel()
        finally:
            if not reader.done():
                reader.cancel()
    text = buffer.decode("utf-8", errors="replace")
    truncated = seen > len(buffer) or len(text) > max_output_chars
    return CodeRun(text[:max_output_chars], proc.returncode, timed_out, truncated, False)


class CodeInterpreterSchema(BaseModel):
    """The Code Interpreter's arguments (CrewAI's names)."""

    code: str = Field(
        description="Python 3 code to run. Only what it prints comes back: print the result."
    )
    libraries_used: list[str] = Field(
        default_factory=list,
        description="Modules the code imports. Nothing is installed: use what is available.",
    )


class CodeInterpreterTool(BaseTool):
    """Runs Python code in a short-lived subprocess and returns what it printed."""

    name: str = "Code Interpreter"
    description: str = (
        "Runs Python 3 code in a separate short-lived process and returns what it prints "
        "(stdout and stderr). Always print the final result."
    )
    args_schema: type[BaseModel] = CodeInterpreterSchema
    timeout: float = 30.0
    max_output_chars: int = 20_000
    memory_limit_mb: int | None = 2048
    max_file_mb: int | None = 64
    isolate_network: bool | None = None
    python: str | None = None
    """The interpreter to run (default: this one, with its installed packages)."""
    env: dict[str, str] = Field(default_factory=dict, repr=False)
    """Variables to give the code, on top of the minimal environment."""

    async def _arun(self, code: str, libraries_used: list[str] | None = None, **_: Any) -> str:
        run = await run_python(
            code,
            time_limit=self.timeout,
            max_output_chars=self.max_output_chars,
            memory_limit_mb=self.memory_limit_mb,
            max_file_mb=self.max_file_mb,
            isolate_network=self.isolate_network,
            python=self.python,
            env=self.env,
        )
        return run.text
