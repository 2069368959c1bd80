"""The process runtime: home loop, budgets, per-loop resources and the sync-work thread pool."""

from .budgets import BudgetProvider, CapSpec, ProcessBudgets, SharedBudget, budget_key
from .runtime import (
    DEFAULT_MAX_THREADS,
    LLMRedirect,
    LoopState,
    Runtime,
    get_runtime,
    set_runtime,
)
from .usage import UsageMeter

__all__ = [
    "DEFAULT_MAX_THREADS",
    "BudgetProvider",
    "CapSpec",
    "LLMRedirect",
    "LoopState",
    "ProcessBudgets",
    "Runtime",
    "SharedBudget",
    "UsageMeter",
    "budget_key",
    "get_runtime",
    "set_runtime",
]
