"""Rate limits: token buckets, fair FIFO admission against a budget source, one retry layer.

Which limiter and budget a call uses is the process runtime's business
(``fastcrew.process_runtime``).
"""

from .bucket import TokenBucket
from .config import RateLimit, RetryPolicy
from .limiter import Lease, Limiter, LimiterStats
from .shared import SharedBudget
from .snapshot import RateLimitSnapshot
from .source import BudgetSource, LocalBudget

__all__ = [
    "BudgetSource",
    "Lease",
    "Limiter",
    "LimiterStats",
    "LocalBudget",
    "RateLimit",
    "RateLimitSnapshot",
    "RetryPolicy",
    "SharedBudget",
    "TokenBucket",
]
