"""The ``fastcrew`` command line: a thin click layer over the Python APIs."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from . import __version__
from ._options import Declared, declared, from_text
from .batch.config import BatchConfig
from .benchmark.config import BenchConfig
from .sim.config import SimConfig

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["main"]


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "FASTCREW"}
)
@click.version_option(__version__, prog_name="fastcrew")
def main() -> None:
    """Run CrewAI-style crews over large batches as fast as the LLM provider allows."""


def _sim_options(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> dict:
    """``--sim KEY=VALUE`` pairs → SimConfig keyword arguments (types from its options)."""
    known = {d.name: d for d in declared(SimConfig)}
    options: dict[str, object] = {}
    for item in value:
        key, sep, text = item.partition("=")
        name = key.strip().replace("-", "_")
        if not sep or name not in known:
            names = ", ".join(sorted(known))
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE with KEY one of {names}")
        try:
            options[name] = from_text(known[name], text)
        except ValueError as exc:
            raise click.BadParameter(f"{item!r}: {exc}") from None
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


def _options_of(config: type, **defaults: object) -> Callable[[F], F]:
    """The click parameters of a config dataclass's declared options (``fastcrew._options``):
    type, bounds, choices, default and help come from the field; ``defaults`` override a few
    defaults for the command line."""

    def decorate(command: F) -> F:
        for d in reversed(declared(config)):
            command = _parameter(d, defaults.get(d.name, d.default))(command)
        return command

    return decorate


def _parameter(d: Declared, default: object) -> Callable[[F], F]:
    o = d.option
    if o.read == "input":
        return click.argument(d.name, type=click.Path(dir_okay=False, allow_dash=True))
    flag = o.flag or "--" + d.name.replace("_", "-")
    names = [o.short, flag] if o.short else [flag]
    kwargs: dict[str, Any] = {
        "help": o.help or None,
        "metavar": o.metavar,
        "allow_from_autoenv": o.env,
    }
    if o.read == "flag" or (d.kind is bool and default is False):
        return click.option(*names, d.name, is_flag=True, default=False, **kwargs)
    if d.kind is bool:  # None = unset: --name/--no-name
        names[-1] = f"{flag}/--no-{flag[2:]}"
        return click.option(*names, d.name, default=default, **kwargs)
    if d.many:  # comma-separated and/or repeated; the defaults go through the same parse
        values = [str(v) for v in default] if isinstance(default, tuple) else []
        kwargs.update(multiple=True, default=values, callback=_many(d))
        kwargs["metavar"] = o.metavar or f"{(d.kind or str).__name__.upper()},..."
        return click.option(*names, d.name, **kwargs)
    kwargs["default"] = default
    if o.read == "json":
        kwargs["callback"] = _json_object
    elif o.read == "path":
        kwargs["type"] = click.Path(dir_okay=False)
    elif d.choices is not None:
        kwargs["type"] = click.Choice(d.choices)
    elif d.kind is int or d.kind is float:
        low = o.ge if o.ge is not None else o.gt
        if low is None and o.le is None:
            kwargs["type"] = d.kind
        elif d.kind is int:
            kwargs["type"] = click.IntRange(_int(low), _int(o.le), min_open=o.gt is not None)
        else:
            kwargs["type"] = click.FloatRange(low, o.le, min_open=o.gt is not None)
    return click.option(*names, d.name, **kwargs)


def _many(d: Declared) -> Callable[[click.Context, click.Parameter, tuple[str, ...]], Any]:
    def parse(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> Any:
        try:
            return from_text(d, ",".join(values))
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    return parse


def _int(bound: float | None) -> int | None:
    return None if bound is None else int(bound)


@main.command(context_settings={"show_default": True})
@_options_of(SimConfig, port=8000)
@click.option(
    "--loop", type=click.Choice(["uvloop", "asyncio"]), default="uvloop", help="Its event loop."
)
def sim(loop: str, **options: object) -> None:
    """Run the OpenAI-compatible LLM simulator (until Ctrl-C / SIGTERM)."""
    from . import sim as simulator

    try:
        config = SimConfig(**options)  # type: ignore[arg-type]
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    simulator.run(config, loop=loop)  # type: ignore[arg-type]


@main.command(context_settings={"show_default": True})
@_options_of(BatchConfig)
@click.option(
    "--sim",
    "sim",
    multiple=True,
    metavar="KEY=VALUE",
    callback=_sim_options,
    help="A simulator option for --simulate, e.g. --sim latency_ms=200 --sim rpm=6000.",
)
@click.pass_context
def batch(ctx: click.Context, inputs: str, simulate: bool, sim: dict, **options: object) -> None:
    """Run a crew (or a flow) once per line of INPUTS (JSONL, '-' for stdin, .jsonl.gz) across
    worker processes, under one RPM/TPM budget; results in input order, resumable after a
    crash.

    \b
    Exit codes (docs/output.md):
      0  complete, every row ok        3  complete, some error rows
      1  an unexpected internal error (a bug; a traceback is printed)
      2  nothing ran (bad option, no LLM, the crew did not load, input changed)
      4  workers kept dying            65 bad input line (--strict) or unreadable input
      68 the provider is unreachable   69 the provider's quota is gone
      74 the journal or output could not be written
      75 interrupted (SIGINT/SIGTERM, first or later)
      77 the provider refused the API key (401/403)
      79 --max-cost reached: no new row started
    All but 0, 2 and 3 are resumable: run the same command again.
    """
    from .batch import run_batch
    from .errors import ConfigurationError

    # Read by click into --api-key: no process started from here needs it in its environment
    # (the workers get the key in their config; /proc/PID/environ is readable by the user).
    os.environ.pop("FASTCREW_BATCH_API_KEY", None)
    simulate_with: object = (sim or True) if (simulate or sim) else False
    try:
        result = run_batch(inputs, simulate=simulate_with, **options)
    except ConfigurationError as exc:
        click.echo(f"fastcrew batch: {exc}", err=True)
        ctx.exit(2)
    ctx.exit(result.exit_code)


@main.command(context_settings={"show_default": True})
@_options_of(BenchConfig)
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
        config = BenchConfig(**options)  # type: ignore[arg-type]
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    code = run(config)
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


def _reset_flag(*names: str, help: str = "", hidden: bool = False) -> Callable[[F], F]:
    # Command line only (no FASTCREW_RESET_MEMORIES_* variable): a reset deletes data.
    return click.option(*names, is_flag=True, help=help, hidden=hidden, allow_from_autoenv=False)


@main.command("reset-memories")
@_reset_flag("-m", "--memory", help="Reset the memory of every crew, agent and flow.")
@_reset_flag("-kn", "--knowledge", help="Reset every knowledge collection (crews' and agents').")
@_reset_flag("-akn", "--agent-knowledge", help="Reset the agents' knowledge collections only.")
@_reset_flag("-k", "--kickoff-outputs", help="Accepted: fastcrew keeps no kickoff outputs.")
@_reset_flag("-a", "--all", help="Reset memory, knowledge and kickoff outputs.")
@_reset_flag("-l", "--long", hidden=True)
@_reset_flag("-s", "--short", hidden=True)
@_reset_flag("-e", "--entities", hidden=True)
@click.pass_context
def reset_memories(
    ctx: click.Context, long: bool, short: bool, entities: bool, **flags: bool
) -> None:
    """Delete what crews and flows stored in $FASTCREW_STORAGE_DIR (else the project's data
    folder), as `crewai reset-memories` does: memories, knowledge collections."""
    from .errors import FastCrewError
    from .memory.reset import reset_memories as reset

    legacy = [
        name for name, on in (("--long", long), ("--short", short), ("--entities", entities)) if on
    ]
    if legacy:
        click.echo(
            f"Warning: {', '.join(legacy)}: deprecated, use --memory (-m): memory is unified.",
            err=True,
        )
        flags["memory"] = True
    if not any(flags.values()):
        raise click.UsageError(
            "say what to reset: -m/--memory, -kn/--knowledge, -akn/--agent-knowledge, "
            "-k/--kickoff-outputs or -a/--all"
        )
    try:
        done = reset(**flags)
    except (FastCrewError, ImportError, OSError) as exc:  # no LanceDB, a lock, the disk
        click.echo(f"fastcrew reset-memories: {type(exc).__name__}: {exc}", err=True)
        ctx.exit(1)
    for line in done:
        click.echo(str(line))
