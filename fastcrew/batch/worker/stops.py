"""Which errors stop a batch run instead of becoming error rows (the worker's side).

A row that meets one of these is given back unfinished (it runs again on resume) and the
worker tells the supervisor, which stops the run with the error's exit code:

- ``QuotaExhaustedError`` (429 ``insufficient_quota``):
  :class:`~fastcrew.batch.wire.messages.Quota`;
- ``AuthenticationError`` (401/403, the key is refused):
  :class:`~fastcrew.batch.wire.messages.Unavailable` ``"auth"``;
- ``LLMConnectionError`` (refused, unreachable, reset) while **no call of the run has
  succeeded yet** — the provider is down from the start: ``Unavailable`` ``"unreachable"``.
  Once a call succeeded (in this worker, or in any: the supervisor sends
  :class:`~fastcrew.batch.wire.messages.Reachable`), a connection error is the row's own
  (transient: an error row after the client's retries).
"""

from __future__ import annotations

from ...errors import AuthenticationError, LLMConnectionError, QuotaExhaustedError
from ..wire.messages import Quota, Unavailable

__all__ = ["BEFORE_SUCCESS", "REACHED", "stop_message"]

BEFORE_SUCCESS: tuple[type[Exception], ...] = (
    QuotaExhaustedError,
    AuthenticationError,
    LLMConnectionError,
)
"""The row-stopping errors until a call of the run succeeds."""
REACHED: tuple[type[Exception], ...] = (QuotaExhaustedError, AuthenticationError)
"""The row-stopping errors once one did."""


def stop_message(exc: Exception, reached: bool) -> Quota | Unavailable | None:
    """What to tell the supervisor about ``exc`` (one of :data:`BEFORE_SUCCESS`); None for a
    connection error after a success (the row is given back and runs again, once)."""
    if isinstance(exc, QuotaExhaustedError):
        return Quota(str(exc))
    if isinstance(exc, AuthenticationError):
        status = f" ({exc.status})" if exc.status else ""
        return Unavailable("auth", f"the provider refused the API key{status}: {exc}")
    if reached:
        return None
    return Unavailable("unreachable", f"the provider cannot be reached: {exc}")
