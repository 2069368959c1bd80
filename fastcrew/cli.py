"""The ``fastcrew`` command line: a thin click layer over the Python APIs."""

from __future__ import annotations

import click

from . import __version__

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
@click.option("--loop", type=click.Choice(["uvloop", "asyncio"]), default="uvloop")
def sim(loop: str, **options: object) -> None:
    """Run the OpenAI-compatible LLM simulator (until Ctrl-C / SIGTERM)."""
    from . import sim as simulator

    try:
        config = simulator.SimConfig(**options)  # type: ignore[arg-type]
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    simulator.run(config, loop=loop)  # type: ignore[arg-type]
