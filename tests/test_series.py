"""Frame share per period: labels, counts, volume normalisation and intervals."""

from __future__ import annotations

import pandas as pd
import pytest

from monitor.analyze.series import frame_series, period_bounds, period_label, wilson_interval


def _obs(rows):
    return pd.DataFrame(rows, columns=["article_id", "published_at", "group", "language", "outlet",
                                       "frame", "score", "present"])


def test_period_labels():
    when = pd.Timestamp("2019-01-02", tz="UTC")
    assert period_label(when, "week") == "2019-W01"
    assert period_label(when, "month") == "2019-01"
    assert period_label(pd.Timestamp("2019-05-31", tz="UTC"), "quarter") == "2019-Q2"


@pytest.mark.parametrize("period", ["week", "month", "quarter"])
def test_period_bounds_enclose_exactly_the_days_of_their_label(period):
    for day in pd.date_range("2019-12-20", "2021-01-12", freq="D", tz="UTC"):
        start, end = period_bounds(period_label(day, period), period)
        assert start <= day < end
        assert period_label(start, period) == period_label(day, period)
        assert period_label(end, period) != period_label(day, period)
        assert period_label(end - pd.Timedelta(microseconds=1), period) == period_label(day, period)
    assert period_bounds("2020-W53", "week") == (pd.Timestamp("2020-12-28", tz="UTC"),
                                                 pd.Timestamp("2021-01-04", tz="UTC"))


def test_share_is_normalised_by_volume_per_scope():
    rows = [(f"a{i}", "2020-01-15T00:00:00Z", "western", "en", "x", "law", 0.5, i < 3) for i in range(4)]
    rows += [(f"b{i}", "2020-01-20T00:00:00Z", "state", "zh", "y", "law", 0.5, i < 1) for i in range(10)]
    series = frame_series(_obs(rows), period="month")
    western = series[(series.scope_kind == "group") & (series.scope == "western")].iloc[0]
    assert (western.n, western.k, western.share) == (4, 3, 0.75)
    total = series[series.scope_kind == "all"].iloc[0]
    assert (total.n, total.k) == (14, 4)
    assert total.ci_low < total.share < total.ci_high


def test_wilson_interval_known_value():
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-3) and high == pytest.approx(0.7634, abs=1e-3)


def test_bootstrap_interval_contains_share():
    rows = [(f"a{i}", "2020-03-01T00:00:00Z", "g", "en", "o", "law", 0.5, i % 2 == 0) for i in range(40)]
    row = frame_series(_obs(rows), period="quarter", scopes=("all",), interval="bootstrap").iloc[0]
    assert row.period == "2020-Q1" and row.share == 0.5
    assert 0.3 < row.ci_low < 0.5 < row.ci_high < 0.7
