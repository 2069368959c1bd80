"""The simulator's RPM/TPM buckets, on a fake clock (no sleeping)."""

from __future__ import annotations

import math

import pytest

from fastcrew.sim.buckets import Bucket, RateLimits, format_duration


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (-1, "0s"),
        (0.0004, "1ms"),
        (0.02, "20ms"),
        (0.999, "999ms"),
        (1, "1s"),
        (1.5, "1.5s"),
        (8.64, "8.64s"),
        (60, "1m0s"),
        (86.4, "1m26.4s"),
        (360, "6m0s"),
        (3723.5, "1h2m3.5s"),
    ],
)
def test_durations_are_written_like_openai(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_bucket_starts_full_and_refills_continuously() -> None:
    b = Bucket(per_minute=60, window_s=60, now=0)
    assert (b.capacity, b.level, b.per_second) == (60, 60, 1)
    b.take(60, 0)
    assert b.wait(1, 0) == 1.0
    assert b.wait(1, 0.5) == 0.5
    assert b.wait(1, 1.0) == 0.0
    assert b.refill(1000) == 60  # capped at capacity
    assert b.time_to_full(1000) == 0


def test_bucket_window_sets_capacity_but_not_rate() -> None:
    b = Bucket(per_minute=600, window_s=1, now=0)
    assert (b.capacity, b.per_second) == (10, 10)
    assert Bucket(per_minute=30, window_s=1, now=0).capacity == 1  # at least one request
    assert b.wait(11, 0) == math.inf  # larger than the bucket: never


def test_admit_charges_both_buckets_or_nothing() -> None:
    clock = FakeClock()
    limits = RateLimits(rpm=60, tpm=1000, clock=clock)
    assert limits.admit(600) is None
    refusal = limits.admit(600)
    assert refusal is not None
    assert (refusal.kind, refusal.limit, refusal.used, refusal.requested) == (
        "tokens",
        1000,
        600,
        600,
    )
    assert refusal.retry_after == pytest.approx(200 / (1000 / 60))
    # nothing was charged for the refused request
    assert limits.requests is not None
    assert limits.requests.level == 59
    assert limits.tokens is not None
    assert limits.tokens.level == 400
    clock.now += refusal.retry_after
    assert limits.admit(600) is None


def test_the_longer_wait_is_reported() -> None:
    clock = FakeClock()
    limits = RateLimits(rpm=1, tpm=100, clock=clock)
    assert limits.admit(10) is None
    refusal = limits.admit(10)
    assert refusal is not None
    assert refusal.kind == "requests"
    assert refusal.retry_after == pytest.approx(60)
    too_big = RateLimits(rpm=1, tpm=100, clock=clock).admit(101)
    assert too_big is not None
    assert too_big.kind == "tokens"
    assert too_big.too_large


def test_requests_refill_at_rate_per_second_after_a_burst() -> None:
    clock = FakeClock()
    limits = RateLimits(rpm=120, tpm=None, window_s=1, clock=clock)  # 2/s, burst of 2
    assert [limits.admit(0) is None for _ in range(3)] == [True, True, False]
    clock.now += 0.5
    assert limits.admit(0) is None
    assert limits.admit(0) is not None


def test_headers_report_limit_remaining_and_time_to_full() -> None:
    clock = FakeClock()
    limits = RateLimits(rpm=60, tpm=6000, clock=clock)
    assert limits.admit(1500) is None
    assert limits.headers() == {
        "x-ratelimit-limit-requests": "60",
        "x-ratelimit-remaining-requests": "59",
        "x-ratelimit-reset-requests": "1s",
        "x-ratelimit-limit-tokens": "6000",
        "x-ratelimit-remaining-tokens": "4500",
        "x-ratelimit-reset-tokens": "15s",
    }
    clock.now += 0.25
    assert limits.headers()["x-ratelimit-reset-requests"] == "750ms"
    assert limits.headers()["x-ratelimit-remaining-tokens"] == "4525"


def test_no_limits_means_no_headers_and_always_admitted() -> None:
    limits = RateLimits(rpm=None, tpm=None)
    assert not limits.enabled
    assert limits.headers() == {}
    assert all(limits.admit(10**9) is None for _ in range(100))


def test_reset_refills() -> None:
    clock = FakeClock()
    limits = RateLimits(rpm=2, tpm=None, clock=clock)
    limits.admit(0)
    limits.admit(0)
    assert limits.admit(0) is not None
    limits.reset()
    assert limits.admit(0) is None
