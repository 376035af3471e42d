"""Adaptive polling and back-off: pure functions, checked against hand-computed values."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from monitor.ingest.schedule import (Bounds, failure_interval, is_permanent, retry_delay,
                                     success_interval, updated_rate)

BOUNDS = Bounds(min_s=30 * 60, max_s=24 * 3600, max_backoff_s=7 * 86400)


def test_busy_feeds_are_polled_more_often_than_quiet_ones():
    busy = success_interval(24.0, BOUNDS)     # one entry an hour
    quiet = success_interval(2.0, BOUNDS)     # two a day
    assert busy == 3600 and quiet == 12 * 3600


def test_interval_is_clamped_to_the_feed_bounds():
    assert success_interval(1000.0, BOUNDS) == BOUNDS.min_s
    assert success_interval(0.1, BOUNDS) == BOUNDS.max_s
    assert success_interval(0.0, BOUNDS) == BOUNDS.max_s
    assert success_interval(None, BOUNDS) == BOUNDS.min_s   # unknown rate: learn quickly


def test_ttl_and_retry_after_raise_the_interval():
    assert success_interval(24.0, BOUNDS, ttl_minutes=180) == 180 * 60
    assert success_interval(24.0, BOUNDS, ttl_minutes=10) == 3600      # only raises
    assert success_interval(24.0, BOUNDS, retry_after_s=7200) == 7200


def test_rate_is_learnt_from_the_second_success_on():
    assert updated_rate(None, 50, None) is None          # the first fetch's backlog says nothing
    assert updated_rate(None, 6, timedelta(hours=6)) == pytest.approx(24.0)
    # a quiet day pulls a busy estimate down, but not all the way at once
    after_quiet_day = updated_rate(24.0, 0, timedelta(days=1))
    assert 0 < after_quiet_day < 24.0
    assert after_quiet_day == pytest.approx(24.0 * 2.718281828 ** -0.5, rel=1e-6)


def test_transient_failures_back_off_exponentially_with_jitter():
    rng = random.Random(1)
    intervals = [failure_interval(n, False, BOUNDS, rng=rng) for n in range(1, 6)]
    for n, interval in enumerate(intervals, start=1):
        base = BOUNDS.min_s * 2 ** (n - 1)
        assert base * 0.8 <= interval <= base * 1.2
    assert len({round(i) for i in intervals}) == 5


def test_backoff_is_capped_at_max_backoff_days():
    assert failure_interval(40, False, BOUNDS, rng=random.Random(2)) <= BOUNDS.max_backoff_s
    assert failure_interval(10, True, BOUNDS, rng=random.Random(3)) <= BOUNDS.max_backoff_s


def test_permanent_failures_start_from_the_maximum_interval():
    first = failure_interval(1, True, BOUNDS, rng=random.Random(4))
    assert BOUNDS.max_s * 0.8 <= first <= BOUNDS.max_s * 1.2


def test_retry_after_is_honoured_on_failure():
    assert failure_interval(1, False, BOUNDS, retry_after_s=5 * 3600, rng=random.Random(5)) == 5 * 3600


def test_repeated_404_becomes_permanent():
    assert [is_permanent("not_found", False, n) for n in (1, 2, 3)] == [False, False, True]
    assert is_permanent("timeout", False, 50) is False
    assert is_permanent("gone", True, 1) is True


def test_in_run_retry_delay_doubles():
    rng = random.Random(6)
    first, second = retry_delay(1, 1.0, rng), retry_delay(2, 1.0, rng)
    assert 0.5 <= first <= 1.5 and 1.0 <= second <= 3.0
