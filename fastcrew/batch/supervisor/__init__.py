"""The supervisor side of a batch: one task group owning a run (:mod:`.supervisor`) — the
input feed, dispatch, the worker pool, the global budget and the counters. Imports nothing
from :mod:`fastcrew.batch.worker` (workers are other processes)."""
