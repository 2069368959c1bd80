"""Seeded latency and fault draws (units, no server)."""

from __future__ import annotations

from collections import Counter

import pytest

from fastcrew.sim.faults import FaultDice
from fastcrew.sim.latency import Latency


def test_latency_is_fixed_plus_seeded_lognormal_jitter() -> None:
    one, two = Latency(3, 10, 20, 0.5), Latency(3, 10, 20, 0.5)
    draws = [one.next() for _ in range(50)]
    assert draws == [two.next() for _ in range(50)]
    assert all(d > 0.010 for d in draws)
    assert draws != [Latency(4, 10, 20, 0.5).next() for _ in range(50)]
    jitter = Latency(0, 0, 20, 0.5)
    median = sorted(jitter.next() for _ in range(4001))[2000]
    assert median == pytest.approx(0.020, rel=0.1)


def test_no_jitter_means_exactly_the_fixed_latency() -> None:
    assert Latency(0, 0, 0, 0.5).next() == 0.0
    assert Latency(0, 15, 0, 0.5).next() == 0.015
    assert not Latency(0, 0, 0, 0.5).enabled


@pytest.mark.parametrize("fault", ["fail", "reset", "stall", "malformed"])
def test_rate_one_always_picks_that_fault(fault: str) -> None:
    rates = {"fail": 0.0, "reset": 0.0, "stall": 0.0, "malformed": 0.0, fault: 1.0}
    dice = FaultDice(0, **rates)
    assert {dice.roll() for _ in range(200)} == {fault}


def test_mixed_rates_are_seeded_and_roughly_proportional() -> None:
    def rolls(seed: int) -> list[str | None]:
        dice = FaultDice(seed, fail=0.1, reset=0.2, stall=0.05, malformed=0.15)
        return [dice.roll() for _ in range(20_000)]

    first = rolls(1)
    assert first == rolls(1)
    assert first != rolls(2)
    counts = Counter(first)
    for name, rate in (
        ("fail", 0.1),
        ("reset", 0.2),
        ("stall", 0.05),
        ("malformed", 0.15),
        (None, 0.5),
    ):
        assert counts[name] / 20_000 == pytest.approx(rate, abs=0.015)
    assert FaultDice(0, 0, 0, 0, 0).roll() is None
