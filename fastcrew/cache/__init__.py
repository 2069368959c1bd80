"""A response cache across runs: provider answers by request key, in one SQLite file.

:func:`request_key` digests what decides an answer (the endpoint and the request body, less
:data:`EXCLUDED_FIELDS`); :class:`ResponseCache` stores the provider's response bytes under
it, shared by threads and processes, bounded by size with least-recently-used eviction.
Details and figures: ``docs/cache.md``.
"""

from .db import SCHEMA_VERSION, CacheFileError
from .key import EXCLUDED_FIELDS, KEY_SIZE, normalize_endpoint, request_key
from .store import DEFAULT_MAX_BYTES, CacheSize, CacheStats, ResponseCache

__all__ = [
    "DEFAULT_MAX_BYTES",
    "EXCLUDED_FIELDS",
    "KEY_SIZE",
    "SCHEMA_VERSION",
    "CacheFileError",
    "CacheSize",
    "CacheStats",
    "ResponseCache",
    "normalize_endpoint",
    "request_key",
]
