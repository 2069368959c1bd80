"""The ``fastcrew`` command line: a thin click layer over the Python APIs."""

from __future__ import annotations

import click

from . import __version__

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fastcrew")
def main() -> None:
    """Run CrewAI-style crews over large batches as fast as the LLM provider allows."""
