"""Rate limits: one RPM/TPM budget per endpoint and key, fair FIFO admission, one retry layer."""

from .bucket import TokenBucket
from .config import RateLimit, RetryPolicy
from .limiter import Lease, Limiter, LimiterStats
from .registry import (
    CAP_PREFIX,
    budget_key,
    cap_for,
    cap_key,
    get_default_rate_limit,
    is_cap_key,
    limiter_for,
    set_budget_factory,
    set_default_rate_limit,
)
from .snapshot import RateLimitSnapshot
from .source import BudgetSource, LocalBudget

__all__ = [
    "CAP_PREFIX",
    "BudgetSource",
    "Lease",
    "Limiter",
    "LimiterStats",
    "LocalBudget",
    "RateLimit",
    "RateLimitSnapshot",
    "RetryPolicy",
    "TokenBucket",
    "budget_key",
    "cap_for",
    "cap_key",
    "get_default_rate_limit",
    "is_cap_key",
    "limiter_for",
    "set_budget_factory",
    "set_default_rate_limit",
]
