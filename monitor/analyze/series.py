"""Frame share per period, by source group, language and outlet, with uncertainty.

Input is one row per (article, frame) with the article's date, group, language and outlet
and whether the frame is present. The share of a frame in a period is the fraction of
that period's articles carrying it, so it is normalised by volume; each share comes with
its count and a Wilson (or bootstrap) 95% interval.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from scipy.stats import binomtest

PERIODS = ("week", "month", "quarter")
SCOPES = ("all", "group", "language", "outlet")
OBSERVATION_COLUMNS = ("article_id", "published_at", "group", "language", "outlet", "frame",
                       "score", "present")
SERIES_COLUMNS = ["scope_kind", "scope", "frame", "period", "n", "k", "share", "ci_low", "ci_high"]


def period_label(when: pd.Timestamp, period: str) -> str:
    """2019-W05 (ISO week), 2019-06 (month) or 2019-Q2 (quarter)."""
    if period == "week":
        iso = when.isocalendar()
        return f"{iso[0]}-W{iso[1]:02d}"
    if period == "month":
        return f"{when.year}-{when.month:02d}"
    if period == "quarter":
        return f"{when.year}-Q{(when.month - 1) // 3 + 1}"
    raise ValueError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}")


def period_bounds(label: str, period: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The UTC instants [start, end) of a period label made by period_label."""
    if period == "week":
        year, week = label.split("-W")
        start = pd.Timestamp(date.fromisocalendar(int(year), int(week), 1), tz="UTC")
        return start, start + pd.Timedelta(days=7)
    if period == "month":
        start = pd.Timestamp(f"{label}-01", tz="UTC")
        return start, start + pd.DateOffset(months=1)
    if period == "quarter":
        year, quarter = label.split("-Q")
        start = pd.Timestamp(int(year), 3 * int(quarter) - 2, 1, tz="UTC")
        return start, start + pd.DateOffset(months=3)
    raise ValueError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}")


def with_periods(observations: pd.DataFrame, period: str) -> pd.DataFrame:
    """The observations with a `period` column (labels sort in time order)."""
    frame = observations.copy()
    dates = pd.to_datetime(frame["published_at"], utc=True)
    frame["period"] = [period_label(d, period) for d in dates]
    frame["all"] = "all"
    return frame


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return (float(ci.low), float(ci.high))


def bootstrap_interval(values: np.ndarray, *, resamples: int = 1000, confidence: float = 0.95,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile interval of the mean of `values` (0/1 presence or scores) by resampling articles."""
    if len(values) == 0:
        return (0.0, 1.0)
    rng = np.random.default_rng(seed)
    means = rng.choice(values, size=(resamples, len(values)), replace=True).mean(axis=1)
    tail = (1 - confidence) / 2
    return (float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail)))


def frame_series(observations: pd.DataFrame, *, period: str = "month",
                 scopes: tuple[str, ...] = SCOPES, interval: str = "wilson") -> pd.DataFrame:
    """One row per scope, frame and period with n articles, k carrying the frame, share, interval."""
    if observations.empty:
        return pd.DataFrame(columns=SERIES_COLUMNS)
    data = with_periods(observations, period)
    rows = []
    for scope_kind in scopes:
        column = "all" if scope_kind == "all" else scope_kind
        grouped = data.groupby([column, "frame", "period"], sort=True)["present"]
        for (scope, frame, label), present in grouped:
            values = present.astype(float).to_numpy()
            n, k = len(values), int(values.sum())
            low, high = (wilson_interval(k, n) if interval == "wilson"
                         else bootstrap_interval(values))
            rows.append((scope_kind, str(scope), frame, label, n, k, k / n, low, high))
    return pd.DataFrame(rows, columns=SERIES_COLUMNS)
