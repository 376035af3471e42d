"""Shift detection: a planted regime change is found by both methods; a flat series is not."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy.stats import fisher_exact

from monitor.analyze.series import with_periods
from monitor.analyze.shifts import (ShiftOptions, change_points, count_table, day_counts, detect_shifts,
                                    early_evidence, fisher_p_values, newcombe_interval, split_binomial, with_period_labels)


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


def test_count_table_gives_every_frame_the_periods_articles():
    """Frames share n; a frame no article of a period carries gets k = 0 there, not no row."""
    observations = _planted(0.5, 0.0, months=4, per_month=10)
    table = count_table(with_period_labels(day_counts(observations), "month"), "all")
    assert len(table) == 8 and set(table["n"]) == {10}
    surveillance = table[table["frame"] == "surveillance"].sort_values("period")
    law = table[table["frame"] == "law"].sort_values("period")
    assert list(surveillance["k"])[2:] == [0, 0] and list(law["k"])[2:] == [10, 10]
    assert [s + w for s, w in zip(surveillance["k"], law["k"])] == [10, 10, 10, 10]


def test_no_split_changes_the_share_by_more_than_the_periods_range():
    """Why change_points may skip the search when period shares stay within min_effect:
    the effect at the best split never exceeds the range, on many random series."""
    rng = np.random.default_rng(3)
    for _ in range(300):
        n = rng.integers(1, 40, size=int(rng.integers(4, 30)))
        k = rng.binomial(n, rng.uniform(0.0, 0.6))
        i, _stat = split_binomial(k, n, 2)
        effect = abs(k[i:].sum() / n[i:].sum() - k[:i].sum() / n[:i].sum())
        shares = k / n
        assert effect <= shares.max() - shares.min()
    flat = np.array([3, 4, 3, 4, 3, 4]), np.array([40, 40, 40, 40, 40, 40])
    assert change_points(*flat, ShiftOptions()) == []


def test_evidence_reads_later_periods_only_while_too_few_articles_were_found():
    def finder(per_month: int):
        data, asked = with_periods(_planted(0.7, 0.15, per_month=per_month), "month"), []
        def period_rows(period: str) -> pd.DataFrame:
            asked.append(period)
            return data[data["period"] == period]
        return period_rows, asked
    periods = ["2018-01", "2018-02", "2018-03", "2018-04", "2018-05", "2018-06"]
    rows, asked = finder(20)
    evidence = early_evidence(rows, periods, "surveillance", True)
    assert asked == ["2018-01"] and len(evidence) == 5 and all(e.startswith("m0-") for e in evidence)
    rows, asked = finder(2)   # at most two articles a month carry the frame
    evidence = early_evidence(rows, periods, "surveillance", True)
    assert 3 <= len(asked) < len(periods) and asked == periods[:len(asked)] and len(evidence) == 5


def test_fisher_p_values_are_scipys_to_the_last_bit():
    """Every small table (zeros, ties, both tails) and large ones like a scope's periods."""
    rng = np.random.default_rng(0)
    small = np.array(list(itertools.product(range(7), repeat=4)), dtype=np.int64)
    large = np.column_stack([rng.integers(0, 60, 400), rng.integers(0, 400, 400),
                             rng.integers(0, 300, 400), rng.integers(0, 3000, 400)])
    tables = np.vstack([small, large])
    expected = [fisher_exact([[a, b], [c, d]])[1] for a, b, c, d in tables]
    assert fisher_p_values(tables).tolist() == expected
    assert fisher_p_values(np.zeros((0, 4), dtype=np.int64)).tolist() == []
