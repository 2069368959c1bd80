"""``fastcrew sim`` on the command line: option checks (CliRunner) and one real subprocess."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

import fastcrew.sim
from fastcrew._json import dumps, loads
from fastcrew.cli import main
from fastcrew.sim import SimConfig, spawn

SECRET = "sk-cli-secret-0123456789"


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[SimConfig, str]]:
    """Replace ``fastcrew.sim.run`` so the command returns instead of serving."""
    calls: list[tuple[SimConfig, str]] = []
    monkeypatch.setattr(fastcrew.sim, "run", lambda config, loop: calls.append((config, loop)))
    return calls


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ["--fail-rate", "1.5"],
            "Invalid value for '--fail-rate': 1.5 is not in the range 0.0<=x<=1.0",
        ),
        (["--reset-rate", "-0.1"], "Invalid value for '--reset-rate'"),
        (["--stall-rate", "abc"], "Invalid value for '--stall-rate'"),
        (["--malformed-rate", "2"], "Invalid value for '--malformed-rate'"),
        (["--host", "0.0.0.0"], "only binds to 127.0.0.0/8, ::1 or localhost"),
        (["--host", "example.com"], "is not a loopback address"),
        (["--rpm", "0"], "Invalid value for '--rpm'"),
        (["--port", "70000"], "Invalid value for '--port'"),
        (["--loop", "trio"], "Invalid value for '--loop'"),
        (["--fail-rate", "0.6", "--stall-rate", "0.6"], "must be <= 1"),
    ],
)
def test_option_errors(runs: list, args: list[str], words: str) -> None:
    result = CliRunner().invoke(main, ["sim", *args])
    assert result.exit_code == 2
    assert words in result.output
    assert runs == []


def test_options_become_a_config_and_the_key_is_never_printed(runs: list) -> None:
    args = ["--port", "0", "--seed", "4", "--rpm", "60", "--tpm", "1000", "--limit-window-s", "1"]
    args += ["--latency-ms", "5", "--jitter-ms", "2", "--quota-after", "9", "--fail-rate", "0.1"]
    args += ["--model-name", "m", "--loop", "asyncio", "--api-key", SECRET]
    result = CliRunner().invoke(main, ["sim", *args])
    assert result.exit_code == 0, result.output
    [(config, loop)] = runs
    assert loop == "asyncio"
    assert config == SimConfig(
        port=0,
        seed=4,
        rpm=60,
        tpm=1000,
        limit_window_s=1,
        latency_ms=5,
        jitter_ms=2,
        quota_after=9,
        fail_rate=0.1,
        model_name="m",
        api_key=SECRET,
    )
    assert SECRET not in result.output


def test_tool_options(runs: list) -> None:
    args = ["--tool-rounds", "0", "--parallel-calls", "4", "--malformed-args-rate", "0.3"]
    result = CliRunner().invoke(main, ["sim", *args, "--tool-support", "reject"])
    assert result.exit_code == 0, result.output
    config = runs[0][0]
    assert (config.tool_rounds, config.parallel_calls, config.malformed_args_rate) == (0, 4, 0.3)
    assert config.tool_support == "reject"
    for bad in (["--parallel-calls", "0"], ["--tool-support", "x"], ["--malformed-args-rate", "2"]):
        assert CliRunner().invoke(main, ["sim", *bad]).exit_code == 2


def test_api_key_from_the_environment(runs: list) -> None:
    result = CliRunner().invoke(main, ["sim"], env={"FASTCREW_SIM_API_KEY": SECRET})
    assert result.exit_code == 0
    assert runs[0][0].api_key == SECRET
    assert runs[0][0].port == 8000


def test_help_lists_every_option() -> None:
    result = CliRunner().invoke(main, ["sim", "--help"])
    assert result.exit_code == 0
    for option in ("--tokens-per-s", "--limit-window-s", "--quota-after", "--stall-rate", "--loop"):
        assert option in result.output
    for option in ("--tool-rounds", "--parallel-calls", "--malformed-args-rate", "--tool-support"):
        assert option in result.output


def _post(url: str, key: str | None) -> tuple[int, dict]:
    data = dumps({"model": "m", "messages": [{"role": "user", "content": "via subprocess"}]})
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(f"{url}/chat/completions", data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, loads(exc.read())


def test_spawned_subprocess_serves_and_stops_cleanly() -> None:
    with spawn(seed=3, rpm=1000, api_key=SECRET) as sim:
        assert sim.base_url == f"http://127.0.0.1:{sim.port}/v1"
        cmdline = Path(f"/proc/{sim.pid}/cmdline")
        if cmdline.exists():
            assert SECRET.encode() not in cmdline.read_bytes()
        assert _post(sim.base_url, None)[0] == 401
        status, data = _post(sim.base_url, SECRET)
        assert status == 200
        assert "via subprocess" in data["choices"][0]["message"]["content"]
        stats = sim.stats()
        assert stats["by_status"] == {"200": 1, "401": 1}
        sim.reset_stats()
        assert sim.stats()["requests_total"] == 0
    assert sim.process.returncode == 0  # SIGTERM → clean exit
    assert SECRET not in repr(sim)
    assert os.environ.get("FASTCREW_SIM_API_KEY") != SECRET


def test_spawned_subprocess_takes_the_tool_options() -> None:
    tools = [
        {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
        for name in ("a", "b", "c")
    ]
    body = {"messages": [{"role": "user", "content": "x"}], "tools": tools}
    with spawn(parallel_calls=3, tool_support="native") as sim:
        request = urllib.request.Request(f"{sim.base_url}/chat/completions", data=dumps(body))
        with urllib.request.urlopen(request, timeout=10) as response:
            message = loads(response.read())["choices"][0]["message"]
        assert len(message["tool_calls"]) == 3
        assert sim.stats()["tool_calls"] == 3


def test_spawn_reports_a_child_that_cannot_start() -> None:
    with pytest.raises(RuntimeError, match="exited before listening"):
        spawn(loop="nope")  # type: ignore[arg-type]
