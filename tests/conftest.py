"""Shared fixtures: a simulator on a free loopback port, in the test's event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from fastcrew.sim import Simulator, serve


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """A default ``fastcrew sim`` (seed 0, no latency, no limits) for one test."""
    async with serve() as server:
        yield server
