"""When to poll a feed next: pure functions of what its past polls showed.

A healthy feed is polled about once per new entry (busy feeds often, quiet ones rarely),
within its min/max interval, and never sooner than its RSS <ttl> or a Retry-After.
A failing feed backs off exponentially with jitter: transient failures from the minimum
interval, permanent ones from the maximum, both up to `fetch.max_backoff_days`. A failing
feed is flagged, never dropped.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

# How fast the entry-rate estimate forgets: after this many days an old rate weighs 1/e.
RATE_MEMORY_DAYS = 2.0
# A 404 this many times in a row stops being "maybe a glitch" and becomes permanent.
NOT_FOUND_LIMIT = 3
JITTER = 0.2


@dataclass(frozen=True)
class Bounds:
    """A feed's polling bounds, in seconds."""

    min_s: float
    max_s: float
    max_backoff_s: float


def updated_rate(old_rate: float | None, new_items: int, since_last_success: timedelta | None
                 ) -> float | None:
    """Entries per day, a time-weighted moving average. The first success teaches nothing
    (its items may span years), so the rate stays unknown until a second one."""
    if since_last_success is None:
        return old_rate
    days = max(since_last_success.total_seconds() / 86400.0, 1.0 / 1440)
    observed = new_items / days
    if old_rate is None:
        return observed
    weight = 1.0 - math.exp(-days / RATE_MEMORY_DAYS)
    return weight * observed + (1.0 - weight) * old_rate


def success_interval(rate_per_day: float | None, bounds: Bounds, *, ttl_minutes: int | None = None,
                     retry_after_s: float | None = None) -> float:
    """Seconds until the next poll of a feed that answered: one poll per expected entry."""
    if rate_per_day is None:
        interval = bounds.min_s            # still learning: look often
    elif rate_per_day <= 0:
        interval = bounds.max_s
    else:
        interval = min(max(86400.0 / rate_per_day, bounds.min_s), bounds.max_s)
    return _raise_to(interval, ttl_minutes, retry_after_s, bounds)


def failure_interval(consecutive_failures: int, permanent: bool, bounds: Bounds, *,
                     retry_after_s: float | None = None, rng: random.Random | None = None) -> float:
    """Seconds until the next try of a failing feed: doubling from the minimum (transient)
    or maximum (permanent) interval, with +-20% jitter so retries do not arrive together."""
    base = bounds.max_s if permanent else bounds.min_s
    steps = max(consecutive_failures - 1, 0)
    interval = min(base * 2.0 ** min(steps, 30), bounds.max_backoff_s)
    interval *= 1.0 + JITTER * (2.0 * (rng or random).random() - 1.0)
    return _raise_to(min(interval, bounds.max_backoff_s), None, retry_after_s, bounds)


def is_permanent(error_class: str, permanent_error: bool, consecutive_failures: int) -> bool:
    """Whether a failure should flag the feed (a repeated 404 counts as permanent)."""
    if permanent_error:
        return True
    return error_class == "not_found" and consecutive_failures >= NOT_FOUND_LIMIT


def retry_delay(attempt: int, base_s: float, rng: random.Random | None = None) -> float:
    """Pause before in-run retry number `attempt` (1, 2, ...): exponential with full jitter."""
    return base_s * 2.0 ** (attempt - 1) * (0.5 + (rng or random).random())


def next_due(now: datetime, interval_s: float) -> datetime:
    return now + timedelta(seconds=interval_s)


def _raise_to(interval: float, ttl_minutes: int | None, retry_after_s: float | None,
              bounds: Bounds) -> float:
    if ttl_minutes:
        interval = max(interval, min(ttl_minutes * 60.0, bounds.max_backoff_s))
    if retry_after_s:
        interval = max(interval, retry_after_s)
    return interval
