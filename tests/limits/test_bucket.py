"""Token-bucket arithmetic, including a property test of its long-run bound."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from fastcrew.limits import TokenBucket


def test_refills_continuously_up_to_capacity():
    b = TokenBucket.full(rate=10, capacity=5, now=0)
    b.take(5, 0)
    assert b.wait_time(1, 0) == 0.1
    assert math.isclose(b.wait_time(5, 0), 0.5)
    assert b.wait_time(1, 100) == 0
    b.take(0, 100)
    assert b.level == 5  # capped at capacity


def test_a_take_larger_than_capacity_waits_for_a_full_bucket_then_goes_into_debt():
    b = TokenBucket.full(rate=10, capacity=5, now=0)
    b.take(3, 0)
    assert math.isclose(b.wait_time(50, 0), 0.3)  # needs a full bucket, not 50 tokens
    b.take(50, 0.3)
    assert math.isclose(b.level, -45)
    assert math.isclose(b.wait_time(1, 0.3), 4.6)


def test_pause_empties_and_delays_refill():
    b = TokenBucket.full(rate=10, capacity=5, now=0)
    b.pause(until=2, now=0)
    assert b.wait_time(1, 0) == 2.1
    assert b.wait_time(1, 2.1) == 0


def test_give_refunds_and_clamp_only_tightens():
    b = TokenBucket.full(rate=1, capacity=10, now=0)
    b.take(8, 0)
    b.give(5, 0)
    assert b.level == 7
    b.give(100, 0)
    assert b.level == 10
    b.clamp(20, 0)
    assert b.level == 10
    b.clamp(3, 0)
    assert b.level == 3


@settings(max_examples=300, deadline=None)
@given(
    rate=st.floats(0.5, 1000),
    burst=st.floats(0.1, 5),
    lag=st.floats(0, 0.5),
    steps=st.lists(st.tuples(st.floats(0, 2), st.integers(1, 50)), min_size=1, max_size=200),
)
def test_never_admits_more_than_rate_times_time_plus_capacity(rate, burst, lag, steps):
    capacity = max(1.0, rate * burst)
    b = TokenBucket.full(rate=rate, capacity=capacity, now=0, lag=lag)
    now = 0.0
    admitted = 0.0
    largest = 0
    for gap, amount in steps:
        now += gap
        wait = b.wait_time(amount, now)
        if wait == 0:
            b.take(amount, now)
            admitted += amount
            largest = max(largest, amount)
    # A take above capacity is allowed from a full bucket (into debt), so the bound carries
    # one such overshoot at most.
    slack = max(0.0, largest - capacity)
    assert admitted <= rate * now + capacity + slack + 1e-6
