"""Where a process's budgets come from: the provider a
:class:`~fastcrew.process_runtime.Runtime` asks.

Two kinds of budget exist:

- an **endpoint budget**, keyed by :func:`budget_key` (a hash of base URL + API key): the
  RPM/TPM limit every LLM call to that endpoint and key passes;
- a **cap**, named by a :class:`CapSpec`: an ``Agent.max_rpm`` / ``Crew.max_rpm``, a narrower
  requests-per-minute limit on the calls of one owner.

The runtime keeps one :class:`~fastcrew.limits.Limiter` (the FIFO queue) per event loop and
budget; the provider hands out the *amounts* behind them. :class:`ProcessBudgets`, the default,
keeps one :class:`~fastcrew.limits.shared.SharedBudget` per budget for the whole process —
shared by every loop through a lock, in one arrival order — so a ``kickoff()`` on the
runtime's background loop and an ``akickoff()`` on the caller's loop spend from the same
minute, first come first served. A batch worker injects a provider whose sources
lease slices of the supervisor's global budget instead.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Protocol

from ..limits import BudgetSource, RateLimit
from ..limits.shared import SharedBudget

__all__ = ["BudgetProvider", "CapSpec", "ProcessBudgets", "SharedBudget", "budget_key"]


def budget_key(base_url: str, api_key: str | None) -> str:
    """A stable key for (endpoint, API key) that reveals neither the key nor URL credentials."""
    return hashlib.sha256(f"{base_url}\n{api_key or ''}".encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class CapSpec:
    """A ``max_rpm`` cap, named the same in every process that builds the same template.

    ``owner`` is the owner's type (``"Agent"``, ``"Crew"``), ``label`` its role or name as
    written (before inputs are rendered). Across batch workers, owners that agree on all three
    fields share one cap.
    """

    owner: str
    label: str
    rpm: int

    @classmethod
    def of(cls, owner: object, rpm: int) -> CapSpec:
        """The spec of ``owner``'s cap (an Agent's role, a Crew's name)."""
        label = getattr(owner, "role", None) or getattr(owner, "name", None) or ""
        return cls(type(owner).__name__, str(label), rpm)

    @property
    def limit(self) -> RateLimit:
        """The cap's own limit: requests only."""
        return RateLimit(rpm=self.rpm, tpm=None, itpm=None, otpm=None)


class BudgetProvider(Protocol):
    """Makes the budget sources a runtime's limiters draw from (one per loop and budget).

    ``caps_by_spec``: whether caps are shared by :class:`CapSpec` (across processes, as the
    batch's global budget does); when False each owner object has its own cap.
    """

    caps_by_spec: bool

    def source(self, key: str, limit: RateLimit, now: float, explicit: bool) -> BudgetSource:
        """The source for endpoint budget ``key`` on the calling loop; ``explicit`` says
        whether ``limit`` was given by an LLM (else it is the runtime's default)."""
        ...

    def cap(self, spec: CapSpec, now: float) -> BudgetSource:
        """A source for the ``max_rpm`` cap ``spec``: with ``caps_by_spec`` one per spec
        and loop, otherwise one per owner object (shared by its loops)."""
        ...


class ProcessBudgets:
    """The default provider: one process-wide set of buckets per endpoint budget.

    The first explicit :class:`RateLimit` for a key replaces the default one (LLMs built
    without a ``rate_limit`` share whatever the key has).
    """

    caps_by_spec = False

    def __init__(self) -> None:
        self._budgets: dict[str, SharedBudget] = {}
        self._lock = threading.Lock()

    def source(self, key: str, limit: RateLimit, now: float, explicit: bool) -> SharedBudget:
        with self._lock:
            shared = self._budgets.get(key)
            if shared is None:
                shared = self._budgets[key] = SharedBudget(limit, now, explicit=explicit)
            elif explicit and not shared.explicit:
                shared.replace(limit, now)
        return shared

    def cap(self, spec: CapSpec, now: float) -> SharedBudget:
        # A cap is ours alone: no provider counts its calls late, so no lag.
        return SharedBudget(spec.limit, now, lag=0.0)
