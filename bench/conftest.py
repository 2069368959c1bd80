"""Fixtures shared by the benchmark modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from benchlib import Report


@pytest.fixture(scope="module")
def report(request: pytest.FixtureRequest) -> Iterator[Report]:
    """Rows and a summary for this module, saved to bench-results/ when it ends."""
    collected = Report(request.module.__name__.removeprefix("test_"))
    yield collected
    collected.save()
