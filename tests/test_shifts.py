"""Shift detection: a planted regime change is found by both methods; a flat series is not."""

from __future__ import annotations

import numpy as np
import pandas as pd

from monitor.analyze.shifts import ShiftOptions, change_points, detect_shifts, newcombe_interval


def _planted(before: float, after: float, months: int = 24, per_month: int = 20, seed: int = 1):
    rng = np.random.default_rng(seed)
    rows = []
    for m in range(months):
        share = before if m < months // 2 else after
        when = pd.Timestamp(2018 + m // 12, m % 12 + 1, 10, tz="UTC")
        for i in range(per_month):
            present = bool(rng.random() < share)
            rows.append((f"m{m}-{i}", when, "western", "en", "paper", "surveillance",
                         0.9 if present else 0.0, present))
            rows.append((f"m{m}-{i}", when, "western", "en", "paper", "law", 0.3, not present))
    return pd.DataFrame(rows, columns=["article_id", "published_at", "group", "language", "outlet",
                                       "frame", "score", "present"])


def test_changepoint_finds_the_planted_drop():
    shifts = detect_shifts(_planted(0.7, 0.15), period="month", scopes=("group",))
    drops = [s for s in shifts if s.method == "changepoint" and s.frame == "surveillance"]
    drop = drops[0]   # largest effect first
    assert all(s.period >= "2019-01" for s in drops)
    assert drop.period == "2019-01" and drop.scope == "western"
    assert drop.effect < -0.3 and drop.ci_high < 0 and drop.p_value < 1e-6
    assert len(drop.evidence) == 5 and all(e.startswith("m1") for e in drop.evidence)


def test_baseline_test_flags_the_first_period_after_the_change():
    shifts = detect_shifts(_planted(0.7, 0.1), period="quarter", scopes=("all",))
    baseline = [s for s in shifts if s.method == "baseline" and s.frame == "surveillance"]
    first = [s for s in baseline if s.period == "2019-Q1"]
    assert len(first) == 1 and first[0].effect < -0.4 and first[0].p_value < 0.05
    assert all(s.period >= "2019-Q1" for s in baseline)   # nothing flagged before the change


def test_flat_series_has_no_shift():
    assert [s for s in detect_shifts(_planted(0.4, 0.4), period="month")
            if s.frame == "surveillance"] == []


def test_change_points_recurse_on_two_changes():
    k = np.array([2, 1, 2, 2, 18, 19, 18, 17, 3, 2, 1, 2])
    n = np.full(12, 20)
    assert [i for i, _ in change_points(k, n, ShiftOptions())] == [4, 8]


def test_newcombe_interval_brackets_the_difference():
    low, high = newcombe_interval(30, 100, 50, 100)
    assert low < -0.2 < high and high < 0
