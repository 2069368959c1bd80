"""Fixtures shared by the benchmark modules."""

from __future__ import annotations

import pytest
from benchlib import Report


@pytest.fixture(scope="module")
def report(request: pytest.FixtureRequest) -> Report:
    return Report(request.module.__name__.removeprefix("test_"))
