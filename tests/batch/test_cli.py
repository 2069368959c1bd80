"""``fastcrew batch`` on the command line: parsing (CliRunner) and one real --simulate run."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import fastcrew
import fastcrew.batch
from fastcrew.batch.config import BatchConfig, BatchResult
from fastcrew.batch.defaults import default_specs
from fastcrew.benchmark.config import BenchConfig
from fastcrew.cli import main
from fastcrew.errors import ConfigurationError
from fastcrew.sim import SimConfig

ROOT = Path(__file__).parents[2]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Replace run_batch: the command's arguments are recorded, nothing runs."""
    seen: list[dict[str, Any]] = []

    def fake(inputs: str, **kwargs: Any) -> BatchResult:
        BatchConfig(inputs=inputs, **kwargs)  # what run_batch checks first
        seen.append({"inputs": inputs, **kwargs})
        return BatchResult("interrupted", 75, "out", 0, 0, {})

    monkeypatch.setattr(fastcrew.batch, "run_batch", fake)
    return seen


def test_options_reach_run_batch_and_the_exit_code_comes_back(calls):
    result = CliRunner().invoke(
        main,
        [
            "batch",
            "in.jsonl",
            "--crew",
            "crews.py:make",
            "-o",
            "res.jsonl",
            "--workers",
            "3",
            "--rpm",
            "600",
            "--sim",
            "latency_ms=200",
            "--sim",
            "rpm=6000",
            "--retry-failed",
            "--strict",
            "--timeout",
            "9.5",
            "--loop",
            "asyncio",
        ],
    )
    assert result.exit_code == 75, result.output
    (got,) = calls
    assert got["inputs"] == "in.jsonl"
    assert got["crew"] == "crews.py:make"
    assert got["output"] == "res.jsonl"
    assert (got["workers"], got["rpm"], got["tpm"]) == (3, 600, None)
    assert got["simulate"] == {"latency_ms": 200.0, "rpm": 6000}
    assert (got["retry_failed"], got["strict"], got["timeout"], got["loop"]) == (
        True,
        True,
        9.5,
        "asyncio",
    )
    assert got["progress"] is None


def test_every_option_reads_fastcrew_env_vars(calls, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FASTCREW_CREW", "env_crew.py:make")
    monkeypatch.setenv("FASTCREW_BATCH_WORKERS", "5")
    monkeypatch.setenv("FASTCREW_BATCH_CONCURRENCY", "7")
    monkeypatch.setenv("FASTCREW_BATCH_SIMULATE", "1")
    result = CliRunner().invoke(main, ["batch", "in.jsonl"])
    assert result.exit_code == 75, result.output
    (got,) = calls
    assert (got["workers"], got["concurrency"]) == (5, 7)
    assert got["simulate"] is True
    # --crew / --flow defaults ($FASTCREW_CREW, pyproject.toml) are run_batch's to resolve,
    # in one place, so the CLI hands on only what the command line says.
    assert (got["crew"], got["flow"]) == (None, None)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--resume", "--restart"], "resume and restart exclude each other"),
        (["--ping-interval", "20"], "must be at least twice ping_interval"),
        (["--sim", "nonsense=1"], "expected KEY=VALUE with KEY one of"),
        (["--sim", "latency_ms=fast"], "latency_ms takes a float"),
        (["--workers", "-1"], "Invalid value for '--workers'"),
        (["--timeout", "0"], "Invalid value for '--timeout'"),
        (["--ray-runtime-env", "[1]"], "expected a JSON object"),
        (["--loop", "trio"], "Invalid value for '--loop'"),
    ],
)
def test_bad_options_are_usage_errors(calls, args: list[str], words: str):
    result = CliRunner().invoke(main, ["batch", "in.jsonl", *args])
    assert result.exit_code == 2
    assert words in result.output
    assert not calls


def test_setup_errors_exit_2_with_the_message(monkeypatch: pytest.MonkeyPatch):
    def refuse(inputs: str, **kwargs: Any) -> BatchResult:
        raise ConfigurationError("the input changed; use --restart")

    monkeypatch.setattr(fastcrew.batch, "run_batch", refuse)
    result = CliRunner().invoke(main, ["batch", "in.jsonl"])
    assert result.exit_code == 2
    assert "fastcrew batch: the input changed; use --restart" in result.output


def test_default_crew_from_env_then_pyproject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("FASTCREW_CREW", raising=False)
    monkeypatch.delenv("FASTCREW_FLOW", raising=False)
    assert default_specs(str(tmp_path)) == (None, None)
    (tmp_path / "pyproject.toml").write_text('[tool.fastcrew]\ncrew = "my/crew.py:make"\n')
    assert default_specs(str(tmp_path)) == ("my/crew.py:make", None)
    monkeypatch.setenv("FASTCREW_CREW", "pkg.mod:factory")
    assert default_specs(str(tmp_path)) == ("pkg.mod:factory", None)


def test_flow_reaches_run_batch_instead_of_a_crew(calls, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("FASTCREW_CREW", raising=False)
    monkeypatch.delenv("FASTCREW_FLOW", raising=False)
    result = CliRunner().invoke(main, ["batch", "in.jsonl", "--flow", "flows.py:MyFlow"])
    assert result.exit_code == 75, result.output
    assert (calls[-1]["crew"], calls[-1]["flow"]) == (None, "flows.py:MyFlow")


def test_a_spec_on_the_command_line_wins_over_the_others_env_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("{}\n")
    monkeypatch.setenv("FASTCREW_CREW", "envcrewpkg.mod:make")
    result = CliRunner().invoke(main, ["batch", str(inputs), "--flow", "flowpkg.flows:F"])
    assert result.exit_code == 2
    assert "No module named 'flowpkg'" in result.output  # the real run_batch took --flow
    monkeypatch.delenv("FASTCREW_CREW")
    monkeypatch.setenv("FASTCREW_FLOW", "envflowpkg.flows:F")
    result = CliRunner().invoke(main, ["batch", str(inputs), "--crew", "crewpkg.mod:make"])
    assert result.exit_code == 2
    assert "No module named 'crewpkg'" in result.output
    both = CliRunner().invoke(main, ["batch", str(inputs), "--crew", "c.py:m", "--flow", "f.py:F"])
    assert both.exit_code == 2
    assert "--crew and --flow exclude each other" in both.output


def test_default_flow_from_env_then_pyproject_and_conflicting_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FASTCREW_CREW", raising=False)
    monkeypatch.delenv("FASTCREW_FLOW", raising=False)
    assert default_specs(str(tmp_path)) == (None, None)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.fastcrew]\nflow = "my/flows.py:F"\ncrew = "my/crew.py:make"\n'
    )
    with pytest.raises(ConfigurationError, match="both a default crew and a default flow"):
        default_specs(str(tmp_path))
    monkeypatch.setenv("FASTCREW_FLOW", "pkg.flows:F")
    assert default_specs(str(tmp_path)) == (None, "pkg.flows:F")
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("{}\n")
    result = CliRunner().invoke(main, ["batch", str(inputs)])  # the real run_batch
    assert result.exit_code == 2
    assert "No module named 'pkg'" in result.output  # the env's flow, not pyproject's pair
    monkeypatch.delenv("FASTCREW_FLOW")
    result = CliRunner().invoke(main, ["batch", str(inputs)])
    assert result.exit_code == 2
    assert "both a default crew and a default flow are set" in result.output


def test_help_lists_the_options():
    result = CliRunner().invoke(main, ["batch", "--help"])
    assert result.exit_code == 0
    for option in (
        "--crew",
        "--flow",
        "--workers",
        "--rpm",
        "--simulate",
        "--retry-failed",
        "--strict",
    ):
        assert option in result.output


def test_simulate_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "MODEL"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(
        main,
        [
            "batch",
            str(ROOT / "examples" / "inputs.jsonl"),
            "--crew",
            str(ROOT / "examples" / "research_crew.py") + ":make_crew",
            "--simulate",
            "--sim",
            "seed=1",
            "--workers",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("SIMULATED") == 2
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [f"q{i}" for i in range(1, 9)]
    assert all(r["status"] == "ok" for r in rows)
    assert "solid-state batteries" in rows[0]["output"]["json_dict"]["topic"]
    summary = json.loads((tmp_path / "results.jsonl.summary.json").read_text())
    assert summary["simulated"] is True
    assert summary["this_run"]["llm_calls"] == 16


def test_the_help_documents_every_exit_code():
    from fastcrew.batch import config

    codes = {getattr(config, name) for name in config.__all__ if name.startswith("EXIT_")}
    assert {74, 75} <= codes
    text = CliRunner().invoke(main, ["batch", "--help"]).output
    exits = text[text.index("Exit codes") : text.index("Options:")]
    for code in codes:
        assert f" {code} " in exits, code
    docs = (ROOT / "docs" / "output.md").read_text()
    for code in codes:
        assert f"\n| {code} |" in docs, code


@pytest.mark.parametrize(
    ("command", "config", "cli_only", "cli_defaults", "doc"),
    [
        ("batch", BatchConfig, {"sim"}, {}, "docs/cli.md"),
        ("sim", SimConfig, {"loop"}, {"port": 8000}, "docs/simulator.md"),
        ("bench", BenchConfig, {"sim_options"}, {}, "docs/cli.md"),
    ],
)
def test_each_option_is_declared_once_for_the_command_the_api_and_the_docs(
    command: str, config: type, cli_only: set[str], cli_defaults: dict[str, object], doc: str
):
    params = {p.name: p for p in main.commands[command].params if p.name not in cli_only}
    fields = {f.name: f for f in dataclasses.fields(config) if f.name not in cli_only}
    assert set(params) == set(fields)  # every option is a flag, every flag an option
    for name, param in params.items():
        default = cli_defaults.get(name, fields[name].default)
        if default is dataclasses.MISSING:
            assert param.required
        elif param.multiple:  # a list: its values, parsed like the user's
            assert param.default == [str(v) for v in default or ()], name
        else:
            assert param.default == default, name
    text = (ROOT / doc).read_text()
    undocumented = [
        flag
        for param in params.values()
        for flag in param.opts
        if flag.startswith("--") and not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text)
    ]
    assert not undocumented


def test_run_batch_takes_exactly_the_config_fields():
    signature = inspect.signature(fastcrew.run_batch)
    assert list(signature.parameters) == [f.name for f in dataclasses.fields(BatchConfig)]
    with pytest.raises(TypeError, match="unknown options concurency"):
        fastcrew.run_batch("in.jsonl", concurency=5)
    with pytest.raises(ConfigurationError, match="workers must be an integer, got '2'"):
        fastcrew.run_batch("in.jsonl", workers="2")
