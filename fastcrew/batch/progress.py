"""Progress on stderr: a rich progress bar on a terminal, plain log lines otherwise.

The only module that imports rich. The supervisor calls :meth:`Progress.update` about once a
second with a :class:`Snapshot`; messages go through :meth:`Progress.log` so they print
above the bar instead of tearing it.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import IO, Any

__all__ = ["DEFAULT_LOG_EVERY_S", "Progress", "Snapshot"]

DEFAULT_LOG_EVERY_S = 10.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The numbers a progress line shows."""

    done: int
    ok: int
    error: int
    in_flight: int
    tokens: int
    rate_limited: int
    elapsed_s: float
    extra: str = ""
    """More to say (``--via batch-api``: the round, calls pending, job states)."""
    cost: str = ""
    """Spent so far and the projection for the whole input (``$0.12, ~$3.40 (3.1-3.7)``)."""


def _si(n: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:.0f}"


class Progress:
    """Shows a run's progress: ``enabled`` None = a bar when ``stream`` is a terminal."""

    def __init__(
        self,
        total: int | None,
        *,
        enabled: bool | None = None,
        stream: IO[str] | None = None,
        log_every: float = DEFAULT_LOG_EVERY_S,
        quiet: bool = False,
    ) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.quiet = quiet
        tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.live = (tty if enabled is None else enabled) and not quiet
        self.log_every = log_every
        self._last_line = time.monotonic()
        self._bar: Any = None
        self._task: Any = None

    def start(self) -> None:
        """Show the bar (live mode)."""
        if not self.live:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import (
            Progress as RichProgress,
        )

        console = Console(file=self.stream)
        self._bar = RichProgress(
            TextColumn("[bold]fastcrew batch"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} rows/s"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn(
                "ok [green]{task.fields[ok]}[/] error [red]{task.fields[error]}[/] "
                "tokens {task.fields[tokens]} 429s {task.fields[r429]} {task.fields[cost]}"
                "{task.fields[extra]}"
            ),
            console=console,
            transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task(
            "batch",
            total=self.total,
            ok=0,
            error=0,
            tokens="0",
            r429=0,
            rate="0",
            extra="",
            cost="",
        )

    def log(self, message: str) -> None:
        """A message for the user (above the bar when there is one)."""
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.console.print(message, markup=False, highlight=False)
        else:
            print(message, file=self.stream, flush=True)

    def update(self, snap: Snapshot, *, force: bool = False) -> None:
        """New numbers: redraw the bar, or print a line every ``log_every`` seconds."""
        rate = snap.done / snap.elapsed_s if snap.elapsed_s > 0 else 0.0
        if self._bar is not None:
            self._bar.update(
                self._task,
                completed=snap.done,
                ok=f"{snap.ok:,}",
                error=f"{snap.error:,}",
                tokens=_si(snap.tokens),
                r429=f"{snap.rate_limited:,}",
                rate=f"{rate:,.1f}",
                extra=snap.extra,
                cost=f"cost {snap.cost} " if snap.cost else "",
            )
            return
        if self.quiet:
            return
        now = time.monotonic()
        if not force and now - self._last_line < self.log_every:
            return
        self._last_line = now
        of = f"/{self.total:,}" if self.total else ""
        eta = ""
        if self.total and rate > 0 and snap.done < self.total:
            eta = f", eta {(self.total - snap.done) / rate:,.0f} s"
        self.log(
            f"fastcrew batch: {snap.done:,}{of} rows, {rate:,.1f} rows/s, ok {snap.ok:,}, "
            f"error {snap.error:,}, in flight {snap.in_flight:,}, tokens {_si(snap.tokens)}, "
            f"429s {snap.rate_limited:,}, {snap.elapsed_s:,.0f} s{eta}"
            + (f", cost {snap.cost}" if snap.cost else "")
            + (f"; {snap.extra}" if snap.extra else "")
        )

    def close(self) -> None:
        """Stop the bar (leaving its last state on screen)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
