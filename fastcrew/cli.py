"""The ``fastcrew`` command line: a thin click layer over the Python APIs."""

from __future__ import annotations

import json

import click

from . import __version__

__all__ = ["main"]


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "FASTCREW"}
)
@click.version_option(__version__, prog_name="fastcrew")
def main() -> None:
    """Run CrewAI-style crews over large batches as fast as the LLM provider allows."""


def _loopback(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from .sim.config import check_loopback

    try:
        return check_loopback(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


_RATE = click.FloatRange(0.0, 1.0)
_NON_NEGATIVE = click.FloatRange(min=0.0)


@main.command(context_settings={"show_default": True})
@click.option("--host", default="127.0.0.1", callback=_loopback, help="Loopback address only.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, help="0 = any free port.")
@click.option("--seed", type=int, default=0, help="Seeds answers, jitter and faults.")
@click.option("--latency-ms", type=_NON_NEGATIVE, default=0.0, help="Fixed latency per request.")
@click.option("--jitter-ms", type=_NON_NEGATIVE, default=0.0, help="Median of lognormal jitter.")
@click.option("--jitter-sigma", type=click.FloatRange(min=0.0, min_open=True), default=0.5)
@click.option("--tokens-per-s", type=_NON_NEGATIVE, default=0.0, help="Answer speed; 0 = instant.")
@click.option("--completion-tokens", type=click.IntRange(min=1), default=32)
@click.option("--echo-chars", type=click.IntRange(min=0), default=200)
@click.option("--rpm", type=click.IntRange(min=1), default=None, help="Requests per minute.")
@click.option("--tpm", type=click.IntRange(min=1), default=None, help="Tokens per minute.")
@click.option(
    "--limit-window-s",
    type=click.FloatRange(min=0.0, min_open=True),
    default=60.0,
    help="Bucket capacity = rate * window / 60 s.",
)
@click.option("--quota-after", type=click.IntRange(min=0), default=None, help="Then 429 quota.")
@click.option("--fail-rate", type=_RATE, default=0.0, help="Share of 500 answers.")
@click.option("--reset-rate", type=_RATE, default=0.0, help="Share of dropped connections.")
@click.option("--stall-rate", type=_RATE, default=0.0, help="Share of requests never answered.")
@click.option("--malformed-rate", type=_RATE, default=0.0, help="Share of invalid JSON bodies.")
@click.option(
    "--api-key",
    envvar="FASTCREW_SIM_API_KEY",
    show_envvar=True,
    default=None,
    help="Require 'Authorization: Bearer KEY'.",
)
@click.option("--model-name", default="fastcrew-sim", help="The model GET /v1/models lists.")
@click.option("--tool-rounds", type=click.IntRange(min=0), default=1, help="Tool rounds first.")
@click.option("--parallel-calls", type=click.IntRange(min=1), default=2, help="Tool calls a round.")
@click.option("--malformed-args-rate", type=_RATE, default=0.0, help="Share of broken tool args.")
@click.option(
    "--tool-support",
    type=click.Choice(["native", "reject"]),
    default="native",
    help="reject = 400 for requests with tools.",
)
@click.option("--loop", type=click.Choice(["uvloop", "asyncio"]), default="uvloop")
def sim(loop: str, **options: object) -> None:
    """Run the OpenAI-compatible LLM simulator (until Ctrl-C / SIGTERM)."""
    from . import sim as simulator

    try:
        config = simulator.SimConfig(**options)  # type: ignore[arg-type]
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    simulator.run(config, loop=loop)  # type: ignore[arg-type]


def _sim_options(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> dict:
    """``--sim KEY=VALUE`` pairs → SimConfig keyword arguments (types from its fields)."""
    import dataclasses

    from .sim import SimConfig

    fields = {f.name: str(f.type) for f in dataclasses.fields(SimConfig)}
    options: dict[str, object] = {}
    for item in value:
        key, sep, text = item.partition("=")
        name = key.strip().replace("-", "_")
        if not sep or name not in fields:
            known = ", ".join(sorted(fields))
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE with KEY one of {known}")
        kind = fields[name]
        try:
            if text.lower() in ("none", "") and "None" in kind:
                options[name] = None
            elif kind.startswith("int"):
                options[name] = int(text)
            elif kind.startswith("float"):
                options[name] = float(text)
            else:
                options[name] = text
        except ValueError:
            raise click.BadParameter(f"{item!r}: {name} takes a {kind}") from None
    return options


def _json_object(_ctx: click.Context, _param: click.Parameter, text: str | None) -> object:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise click.BadParameter('expected a JSON object, e.g. \'{"working_dir": "."}\'')
    return value


@main.command(context_settings={"show_default": True})
@click.argument("inputs", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--crew",
    default=None,
    allow_from_autoenv=False,  # run_batch reads $FASTCREW_CREW, then pyproject.toml
    help="path/to/file.py:name or package.module:name (a zero-argument factory returning a "
    "Crew, a Crew, or a @CrewBase class). Default: $FASTCREW_CREW, else [tool.fastcrew] crew "
    "in ./pyproject.toml.",
)
@click.option(
    "--flow",
    default=None,
    allow_from_autoenv=False,
    help="Instead of --crew: path/to/file.py:FlowClass or package.module:FlowClass, one flow "
    "per row. Default: $FASTCREW_FLOW, else [tool.fastcrew] flow in ./pyproject.toml.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default="results.jsonl",
    help="Results, one line per input line, in input order (journal beside it).",
)
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Default: CPU count.")
@click.option("--concurrency", type=click.IntRange(min=1), default=100, help="Rows per worker.")
@click.option("--rpm", type=click.IntRange(min=1), default=None, help="Requests/min, all workers.")
@click.option("--tpm", type=click.IntRange(min=1), default=None, help="Tokens/min, all workers.")
@click.option("--model", default=None, help="Model for LLM() / batch lines ($MODEL).")
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint ($OPENAI_BASE_URL).")
@click.option("--api-key", default=None, help="API key ($OPENAI_API_KEY); never printed.")
@click.option("--simulate", is_flag=True, help="Run against the built-in simulator.")
@click.option(
    "--sim",
    "sim",
    multiple=True,
    metavar="KEY=VALUE",
    callback=_sim_options,
    help="A simulator option for --simulate, e.g. --sim latency_ms=200 --sim rpm=6000.",
)
@click.option("--resume", is_flag=True, help="Insist on resuming (default: resume if possible).")
@click.option("--restart", is_flag=True, help="Delete the output and journal; start over.")
@click.option("--retry-failed", is_flag=True, help="Re-run the error rows of a finished output.")
@click.option("--strict", is_flag=True, help="Stop at the first bad input line.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Seconds per row; also bounds finishing in-flight rows after Ctrl-C.",
)
@click.option("--progress/--no-progress", default=None, help="Default: a bar on a terminal.")
@click.option("--loop", type=click.Choice(["uvloop", "asyncio"]), default="uvloop")
@click.option("--window", type=click.IntRange(min=1), default=None, help="Reorder window, rows.")
@click.option("--chunk-size", type=click.IntRange(min=1), default=16, help="Rows per dispatch.")
@click.option("--max-line-bytes", type=click.IntRange(min=1), default=1 << 20)
@click.option("--max-restarts", type=click.IntRange(min=0), default=3, help="Per worker slot.")
@click.option("--ping-timeout", type=click.FloatRange(min=0, min_open=True), default=30.0)
@click.option("-q", "--quiet", is_flag=True, help="No progress, no summary on stderr.")
@click.option(
    "--backend",
    type=click.Choice(["local", "ray"]),
    envvar="FASTCREW_BATCH_BACKEND",
    show_envvar=True,
    default=None,
    help="Worker processes here, or Ray actors (pip install 'fastcrew[ray]'). "
    "Default: [tool.fastcrew] backend, else local.",
)
@click.option(
    "--ray-address",
    default=None,
    help="--backend ray: auto | ray://HOST:PORT | HOST:PORT. Default: $RAY_ADDRESS, else a "
    "local Ray for the run.",
)
@click.option(
    "--ray-runtime-env",
    default=None,
    callback=_json_object,
    metavar="JSON",
    help="""--backend ray: Ray's runtime_env, e.g. '{"working_dir": "."}' to ship the crew.""",
)
@click.pass_context
def batch(ctx: click.Context, inputs: str, simulate: bool, sim: dict, **options: object) -> None:
    """Run a crew (or a flow) once per line of INPUTS (JSONL, '-' for stdin, .jsonl.gz) across
    worker processes, under one RPM/TPM budget; results in input order, resumable after a
    crash.

    \b
    Exit codes (docs/output.md):
      0  complete, every row ok        3  complete, some error rows
      2  nothing ran (bad option, no LLM, the crew did not load, input changed)
      4  workers kept dying            65 bad input line (--strict) or unreadable input
      69 the provider's quota is gone  74 the journal or output could not be written
      75 interrupted (SIGINT/SIGTERM, first or later)
    All but 0, 2 and 3 are resumable: run the same command again.
    """
    from .batch import run_batch
    from .errors import ConfigurationError

    if options["resume"] and options["restart"]:
        raise click.UsageError("--resume and --restart exclude each other")
    simulate_with: object = (sim or True) if (simulate or sim) else False
    try:
        result = run_batch(inputs, simulate=simulate_with, **options)  # type: ignore[arg-type]
    except ConfigurationError as exc:
        click.echo(f"fastcrew batch: {exc}", err=True)
        ctx.exit(2)
    ctx.exit(result.exit_code)


@main.command(context_settings={"show_default": True})
@click.option(
    "--methods",
    multiple=True,
    help="Comma-separated, of: kickoff_for_each, kickoff_async, akickoff_for_each, akickoff, "
    "batch. Default: all.",
)
@click.option("--n", "n", multiple=True, help="Crews per cell, comma-separated.  [default: 100]")
@click.option("--latency-ms", multiple=True, help="Simulator latencies.  [default: 0,200]")
@click.option("--concurrency", multiple=True, help="Bounds on crews in flight.  [default: 10,100]")
@click.option("--workers", multiple=True, help="batch worker processes.  [default: 1,2]")
@click.option("--rpm", type=click.IntRange(min=1), default=None, help="Simulator RPM limit.")
@click.option("--crew", default=None, help="path/to/file.py:name or module:name (a {topic} crew).")
@click.option("--base-url", default=None, help="An outside OpenAI-compatible server instead.")
@click.option("--out", default="bench-results/fastcrew-bench", help="results.json and plots.")
@click.option("--plots/--no-plots", default=True, help="PNG plots (needs fastcrew[plot]).")
@click.option("--against-crewai", is_flag=True, help="Run CrewAI's Crew on the same matrix too.")
@click.option("--crewai-python", default=None, help="Interpreter with crewai (default: this one).")
@click.option(
    "--tools",
    is_flag=True,
    help="Run a crew whose agent has one async tool (2 LLM calls per crew); excludes --crew.",
)
@click.option(
    "--tool-ms",
    type=click.FloatRange(min=0),
    default=200.0,
    help="With --tools: the tool's await (asyncio.sleep), in ms.",
)
@click.option(
    "--cell-timeout",
    "cell_timeout_s",
    type=click.FloatRange(min=0, min_open=True),
    default=120.0,
    help="Seconds per cell process.",
)
@click.option(
    "--sim",
    "sim_options",
    multiple=True,
    metavar="KEY=VALUE",
    callback=_sim_options,
    help="A simulator option, e.g. --sim jitter_ms=20.",
)
@click.pass_context
def bench(ctx: click.Context, **options: object) -> None:
    """Benchmark kickoff methods x latency x concurrency x N on the simulator: a table,
    results.json and PNG plots; each cell runs in a fresh process."""
    from .benchmark.command import bench as run

    try:
        code = run(**options)  # type: ignore[arg-type]
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    ctx.exit(code)


@main.command("run")
@click.pass_context
def run_project(ctx: click.Context) -> None:
    """Run the CrewAI project in the working directory, as `crewai run` does: a flow's
    `kickoff` script, or a crew's `run_crew` script, from its pyproject.toml."""
    from .errors import ConfigurationError
    from .project.run import run_project as run

    try:
        run()
    except ConfigurationError as exc:
        click.echo(str(exc), err=True)
        ctx.exit(2)
    except Exception as exc:
        click.echo(f"fastcrew run: the project failed: {type(exc).__name__}: {exc}", err=True)
        ctx.exit(1)
