"""Stopping early when the provider cannot serve the run, the rows left unstarted.

Two checks, both ending the run resumably with their own status and exit code
(docs/cli.md): ``provider_unreachable`` (68) and ``auth_failed`` (77).

- :func:`probe`: before any worker gets a row, one TCP connection to ``--base-url``'s host
  and port (local backend, not simulated). Refused, or a name that does not resolve: the
  run stops in milliseconds with no row started. A probe that times out says nothing (a
  slow network is not a dead one): the rows find out.
- :class:`ProviderWatch`: a worker gives a row back and reports
  :class:`~fastcrew.batch.supervisor.events.ProviderUnavailable` when the key is refused
  (401/403: stop at once, whatever happened before) or when a connection fails, after the
  client's retries, before any call of the run succeeded (the provider is down from the
  start: stop). After a success, a connection error is a row's own; the first success is
  broadcast to the workers (:class:`~fastcrew.batch.wire.messages.Reachable`) so they make
  it an error row from then on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ..config import BatchConfig
from ..wire.messages import Reachable
from .events import ProviderUnavailable

__all__ = ["PROBE_TIMEOUT_S", "ProviderWatch", "endpoint_down", "probe", "shown_url"]

PROBE_TIMEOUT_S = 3.0
"""A probe connection not answered this fast proves nothing either way."""

RESUME = "the rows not done were not started"


def shown_url(url: str) -> str:
    """``url`` without any ``user:password@`` part (safe to print)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=netloc).geturl()


async def probe(base_url: str, wait_s: float = PROBE_TIMEOUT_S) -> str | None:
    """Why ``base_url`` cannot be reached (refused, unknown host, ...), or None when a TCP
    connection to it opened, or could not be judged (timeout, no host in the URL)."""
    parts = urlsplit(base_url)
    try:
        host, port = parts.hostname, parts.port
    except ValueError:  # a bad port: the LLM client says what is wrong with the URL
        return None
    if not host or parts.scheme not in ("http", "https"):
        return None
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        async with asyncio.timeout(wait_s):
            _, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        return None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return f"cannot connect to {shown_url(base_url)}: {reason}"
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return None


async def endpoint_down(config: BatchConfig) -> str | None:
    """The stop message when the run's endpoint (``--base-url``, else ``$OPENAI_BASE_URL``
    as the workers' LLMs read it) refuses connections; probed for the local backend only,
    not simulated (Ray workers may see another network)."""
    url = config.base_url or os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_BASE")
    if not url or config.simulate is not None or config.backend != "local":
        return None
    down = await probe(url)
    return None if down is None else f"{down}; stopped before any row ran"


class ProviderWatch:
    """Whether a call of the run has succeeded, told to the workers (``send(slot, msg)``),
    and the verdict on a :class:`ProviderUnavailable` report."""

    def __init__(self, send: Callable[[int, Any], None], slots: Callable[[], range]) -> None:
        self._send = send
        self._slots = slots
        self.reached = False

    def success(self) -> None:
        """A call of the run succeeded: tell every worker (once)."""
        if not self.reached:
            self.reached = True
            for slot in self._slots():
                self._send(slot, Reachable())

    def joined(self, slot: int) -> None:
        """A worker came up: tell it if a call already succeeded."""
        if self.reached:
            self._send(slot, Reachable())

    def verdict(self, event: ProviderUnavailable) -> tuple[str, str] | None:
        """``(stop reason, message)``, or None: a connection error after a success (the row
        goes out again; the worker makes the next one an error row)."""
        if event.kind == "auth":
            return "auth_failed", f"{event.message}; stopped ({RESUME}): give the right key"
        if self.reached:
            return None
        return (
            "provider_unreachable",
            f"{event.message}; no call of the run succeeded: stopped ({RESUME})",
        )
