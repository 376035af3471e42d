"""Significant changes of a frame's share: period against trailing baseline, and change points.

Two complementary views of the same counts (articles n and articles carrying the frame k
per period, per scope):

* baseline: each period against the pooled trailing `window` periods, Fisher's exact test,
  Benjamini-Hochberg across all tests run, so a long series does not flag noise;
* changepoint: binary segmentation of the series under a binomial model (likelihood-ratio
  statistic, Bonferroni over candidate split points), finding lasting regime changes such as
  "surveillance framing fell from 2020 on" that a one-period test misses.

Each shift carries its effect (share minus baseline share), a Newcombe 95% interval of that
difference, the p-value, and the articles that drive it. A shift needs at least
`min_frame_articles` articles carrying the frame on its high side, so two articles cannot
make one. Shifts are ranked by the interval's bound nearest zero (the smallest change the
data support), so a large but uncertain jump in a thin month ranks below a solid lasting one.

The tests run on counts per day and facet (`DayCounts`), which the framing job reads from
its small per-day tables instead of loading every frame score; only a shift found needs
articles, for its evidence, and those come from an `EvidenceFinder`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import accumulate, groupby
from operator import itemgetter

import numpy as np
import pandas as pd
from scipy.stats import chi2, false_discovery_control, hypergeom

from monitor.analyze.series import SCOPES, period_label, wilson_interval, with_periods
from monitor.models import Shift

EVIDENCE_ARTICLES = 5
FACET_COLUMNS = ["group", "language", "outlet"]
SCORED_COLUMNS = ["day", *FACET_COLUMNS, "n"]
CARRIED_COLUMNS = ["day", *FACET_COLUMNS, "frame", "k"]

# (scope_kind, scope, frame, periods of the changed side, rising) -> the articles driving it
EvidenceFinder = Callable[[str, str, str, list[str], bool], tuple[str, ...]]


@dataclass(frozen=True)
class ShiftOptions:
    window: int = 6               # trailing periods pooled as the baseline
    min_n: int = 8                # articles a period (and its baseline) needs to be tested
    min_scope_n: int = 30         # articles a scope needs over the whole series
    alpha: float = 0.05
    min_effect: float = 0.1       # absolute change of share worth reporting
    min_segment: int = 2          # periods on each side of a change point
    min_frame_articles: int = 5   # articles carrying the frame on the higher side of a shift


@dataclass(frozen=True)
class DayCounts:
    """What the tests run on, per UTC day and facets (group, language, outlet): n articles
    scored (`scored`, SCORED_COLUMNS) and k of them carrying a frame (`carried`,
    CARRIED_COLUMNS; rows of k = 0 may be left out). Every scored article is scored for every
    frame of `frames`, so the frames share n: crossing n with the frames only per period
    and scope, not per day and facets, keeps the tables small (65,000 rows at 100,000
    articles instead of 720,000)."""

    scored: pd.DataFrame
    carried: pd.DataFrame
    frames: list[str]


def day_counts(observations: pd.DataFrame) -> DayCounts:
    """Observations (one row per article and frame) -> the counts the tests run on."""
    data = observations.assign(day=pd.to_datetime(observations["published_at"], utc=True)
                               .dt.strftime("%Y-%m-%d"))
    scored = (data.drop_duplicates("article_id").groupby(["day", *FACET_COLUMNS])
              .size().rename("n").reset_index())
    carried = (data[data["present"]].groupby(["day", *FACET_COLUMNS, "frame"])
               .size().rename("k").reset_index())
    return DayCounts(scored[SCORED_COLUMNS], carried[CARRIED_COLUMNS], sorted(data["frame"].unique()))


def with_period_labels(counts: DayCounts, period: str) -> DayCounts:
    """Day counts with `period` (labelled as series.with_periods does) and `all` columns."""
    days = pd.concat([counts.scored["day"], counts.carried["day"]]).unique()
    labels = {day: period_label(pd.Timestamp(day, tz="UTC"), period) for day in days}
    def labelled(table: pd.DataFrame) -> pd.DataFrame:
        return table.assign(period=table["day"].map(labels), all="all")
    return DayCounts(labelled(counts.scored), labelled(counts.carried), counts.frames)


def count_table(counts: DayCounts, scope_kind: str) -> pd.DataFrame:
    """n and k per (scope, frame, period) from day counts that have a period column: a row
    for every frame wherever the scope has articles in the period."""
    column = "all" if scope_kind == "all" else scope_kind
    keys = [column, "period"]
    scored = counts.scored.groupby(keys)["n"].sum().reset_index()
    carried = counts.carried.groupby([*keys, "frame"])["k"].sum().reset_index()
    table = (scored.merge(pd.DataFrame({"frame": counts.frames}), how="cross")
             .merge(carried, on=[*keys, "frame"], how="left").fillna({"k": 0})
             .rename(columns={column: "scope"}))
    return table[["scope", "frame", "period", "n", "k"]].astype({"n": int, "k": int})


def newcombe_interval(k1: int, n1: int, k0: int, n0: int) -> tuple[float, float]:
    """95% interval of p1 - p0 from the two Wilson intervals (Newcombe's hybrid score method)."""
    p1, p0 = k1 / n1, k0 / n0
    l1, u1 = wilson_interval(k1, n1)
    l0, u0 = wilson_interval(k0, n0)
    d = p1 - p0
    return (d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2),
            d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2))


def evidence_articles(rows: pd.DataFrame, frame: str, rising: bool) -> tuple[str, ...]:
    """The articles that drive a change: for a rise, the highest-scoring ones carrying the frame;
    for a fall, the period's articles without it that carry another frame most strongly."""
    own = rows[rows["frame"] == frame]
    # Ties (equal scores are common) broken by article id, so whichever rows were loaded,
    # and in whatever order, the same articles are picked.
    if rising:
        picked = own[own["present"]].sort_values(["score", "article_id"], ascending=[False, True])["article_id"]
    else:
        lacking = set(own.loc[~own["present"], "article_id"])
        others = rows[rows["article_id"].isin(lacking) & (rows["frame"] != frame)]
        best = others.groupby("article_id")["score"].max().reset_index()
        picked = best.sort_values(["score", "article_id"], ascending=[False, True])["article_id"]
    return tuple(str(a) for a in list(dict.fromkeys(picked))[:EVIDENCE_ARTICLES])


def supported(k1: int, n1: int, k0: int, n0: int, options: ShiftOptions) -> bool:
    """Large enough to report: |effect| >= min_effect, and enough articles carry the frame."""
    return (abs(k1 / n1 - k0 / n0) >= options.min_effect
            and max(k1, k0) >= options.min_frame_articles)


def strength(shift: Shift) -> float:
    """The interval bound nearest zero: the smallest change consistent with the data."""
    return shift.ci_low if shift.effect > 0 else -shift.ci_high


def early_evidence(period_rows: Callable[[str], pd.DataFrame], periods: list[str], frame: str,
                   rising: bool) -> tuple[str, ...]:
    """Evidence of a lasting change: from its first periods, taking later ones of the same
    segment only until EVIDENCE_ARTICLES are found (sparse series have thin first months).
    `period_rows` gives one period's observations, asked for only as far as needed: the
    first period usually suffices, and a segment can span years."""
    evidence: tuple[str, ...] = ()
    loaded: list[pd.DataFrame] = []
    for period in periods:
        rows = period_rows(period)
        if rows.empty:   # adds nothing to the evidence of the periods before
            continue
        loaded.append(rows)
        evidence = evidence_articles(pd.concat(loaded, ignore_index=True), frame, rising)
        if len(evidence) >= EVIDENCE_ARTICLES:
            break
    return evidence


def _scoped(data: pd.DataFrame, scope_kind: str, scope: str) -> pd.DataFrame:
    column = "all" if scope_kind == "all" else scope_kind
    return data[data[column] == scope]


class ObservationEvidence:
    """An EvidenceFinder over observations in memory (periods labelled on first use)."""

    def __init__(self, observations: pd.DataFrame, period: str):
        self.observations, self.period = observations, period
        self._data: pd.DataFrame | None = None

    def __call__(self, scope_kind: str, scope: str, frame: str, periods: list[str],
                 rising: bool) -> tuple[str, ...]:
        if self._data is None:
            self._data = with_periods(self.observations, self.period)
        data = _scoped(self._data, scope_kind, scope)
        return early_evidence(lambda period: data[data["period"] == period], periods, frame, rising)


# (scope, frame, periods, n, k) of one series, in period order
Series = tuple[str, str, list[str], list[int], list[int]]


def _series(table: pd.DataFrame) -> Iterator[Series]:
    """(scope, frame, periods, n, k) per series of a count table, as plain lists in period
    order: per-series pandas work dominated once the tests ran on counts."""
    table = table.sort_values(["scope", "frame", "period"])
    rows = zip(table["scope"].tolist(), table["frame"].tolist(), table["period"].tolist(),
               table["n"].tolist(), table["k"].tolist())
    for (scope, frame), group in groupby(rows, key=itemgetter(0, 1)):
        _, _, periods, ns, ks = (list(column) for column in zip(*group))
        yield scope, frame, periods, [int(v) for v in ns], [int(v) for v in ks]


def baseline_candidates(series: list[Series], options: ShiftOptions) -> list[dict]:
    """Every testable (scope, frame, period) against its trailing window, with a raw p-value."""
    found = []
    for scope, frame, periods, ns, ks in series:
        sum_n, sum_k = [0, *accumulate(ns)], [0, *accumulate(ks)]
        for i in range(1, len(periods)):
            start = max(0, i - options.window)
            n, k = ns[i], ks[i]
            n0, k0 = sum_n[i] - sum_n[start], sum_k[i] - sum_k[start]
            if n < options.min_n or n0 < options.min_n:
                continue
            effect = k / n - k0 / n0
            found.append({"scope": scope, "frame": frame, "period": periods[i],
                          "n": n, "k": k, "n0": n0, "k0": k0, "effect": effect})
    tables = np.array([(c["k"], c["n"] - c["k"], c["k0"], c["n0"] - c["k0"]) for c in found], dtype=np.int64)
    for c, p in zip(found, fisher_p_values(tables.reshape(-1, 4)).tolist()):
        c["p"] = p
    return found


_FISHER_EPSILON = 1e-14


def fisher_p_values(tables: np.ndarray) -> np.ndarray:
    """Two-sided Fisher's exact test p-value of each 2x2 table [[a, b], [c, d]] (rows of
    a, b, c, d): scipy.stats.fisher_exact's algorithm and arithmetic step for step, so the
    very same floats, but for all tables in a few vectorised calls (one call per table cost
    0.45 ms, mostly scipy's argument handling: 0.65 s per run at 100,000 articles)."""
    a, b, c, d = tables.T
    p = np.ones(len(tables))
    tested = np.flatnonzero((a + b > 0) & (c + d > 0) & (a + c > 0) & (b + d > 0))   # else p = 1
    a, n1, n = a[tested], (a + b)[tested], (a + c)[tested]
    total = n1 + (c + d)[tested]

    def pmf(x: np.ndarray, which: np.ndarray) -> np.ndarray:
        return hypergeom.pmf(x, total[which], n1[which], n[which])

    everyone = np.arange(len(tested))
    mode = ((n + 1) * (n1 + 1) / (total + 2)).astype(np.int64)
    exact, at_mode = pmf(a, everyone), pmf(mode, everyone)
    with np.errstate(invalid="ignore"):   # 0 / 0 where both are 0: not flat, as in scipy
        flat = np.abs(exact - at_mode) / np.maximum(exact, at_mode) <= _FISHER_EPSILON
    cut = exact * (1 + _FISHER_EPSILON)
    out = np.ones(len(tested))
    low = np.flatnonzero(~flat & (a < mode))
    if len(low):
        tail = hypergeom.cdf(a[low], total[low], n1[low], n[low])
        far = pmf(n[low], low) > cut[low]
        guess = _binary_search(lambda x, i: -pmf(x, low[i]), -cut[low], mode[low], n[low])
        other = hypergeom.sf(guess, total[low], n1[low], n[low])
        out[low] = np.where(far, tail, tail + other)
    high = np.flatnonzero(~flat & (a >= mode))
    if len(high):
        tail = hypergeom.sf(a[high] - 1, total[high], n1[high], n[high])
        far = pmf(np.zeros_like(high), high) > cut[high]
        guess = _binary_search(lambda x, i: pmf(x, high[i]), cut[high], np.zeros_like(high), mode[high])
        other = hypergeom.cdf(guess, total[high], n1[high], n[high])
        out[high] = np.where(far, tail, tail + other)
    p[tested] = np.minimum(out, 1.0)
    return p


def _binary_search(f: Callable[[np.ndarray, np.ndarray], np.ndarray], target: np.ndarray,
                   lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """scipy.stats' _binary_search_for_binom_tst for many searches at once: the x in
    [lo, hi] where f(x) <= target < f(x + 1); f(x, i) evaluates searches i at points x."""
    lo, hi = lo.copy(), hi.copy()
    result = np.zeros(len(lo), dtype=np.int64)
    done = np.zeros(len(lo), dtype=bool)
    while (active := np.flatnonzero(~done & (lo < hi))).size:
        mid = lo[active] + (hi[active] - lo[active]) // 2
        value = f(mid, active)
        below, above = value < target[active], value > target[active]
        lo[active[below]] = mid[below] + 1
        hi[active[above]] = mid[above] - 1
        hit = ~below & ~above
        result[active[hit]], done[active[hit]] = mid[hit], True
    rest = np.flatnonzero(~done)
    if rest.size:
        result[rest] = np.where(f(lo[rest], rest) <= target[rest], lo[rest], lo[rest] - 1)
    return result


def split_binomial(k: np.ndarray, n: np.ndarray, min_segment: int) -> tuple[int, float] | None:
    """The split index maximising the binomial likelihood-ratio statistic, and that statistic."""
    def loglik(kk: float, nn: float) -> float:
        p = kk / nn
        return (kk * math.log(p) if kk else 0.0) + ((nn - kk) * math.log(1 - p) if nn - kk else 0.0)

    # Prefix sums of exact integers: the same statistics as summing each slice, in O(len).
    sum_k, sum_n = [0, *accumulate(int(v) for v in k)], [0, *accumulate(int(v) for v in n)]
    all_k, all_n = sum_k[-1], sum_n[-1]
    total = loglik(all_k, all_n)
    best: tuple[int, float] | None = None
    for i in range(min_segment, len(k) - min_segment + 1):
        stat = 2 * (loglik(sum_k[i], sum_n[i]) + loglik(all_k - sum_k[i], all_n - sum_n[i]) - total)
        if best is None or stat > best[1]:
            best = (i, stat)
    return best


def _share_range(k: np.ndarray, n: np.ndarray) -> float:
    """The highest period share minus the lowest. No split changes the share by more: a
    segment's share is a weighted mean of its periods' shares (and rounding is monotone, so
    the computed effect cannot exceed the computed range either). Most series of a thin
    scope or a rare frame stay within min_effect, and then need no search."""
    tested = n > 0
    shares = k[tested] / n[tested]
    return float(shares.max() - shares.min())


def change_points(k: np.ndarray, n: np.ndarray, options: ShiftOptions,
                  offset: int = 0) -> list[tuple[int, float]]:
    """Binary segmentation: (index of the first period after a change, p-value), recursively."""
    if len(k) < 2 * options.min_segment or n.sum() == 0 or _share_range(k, n) < options.min_effect:
        return []
    best = split_binomial(k, n, options.min_segment)
    if best is None:
        return []
    i, stat = best
    effect = k[i:].sum() / n[i:].sum() - k[:i].sum() / n[:i].sum()
    if abs(effect) < options.min_effect:
        return []
    candidates = len(k) - 2 * options.min_segment + 1
    p = min(1.0, candidates * float(chi2.sf(stat, 1)))
    if p >= options.alpha:
        return []
    return (change_points(k[:i], n[:i], options, offset) + [(offset + i, p)]
            + change_points(k[i:], n[i:], options, offset + i))


def _shift(scope_kind: str, scope: str, frame: str, period: str, method: str,
           k: int, n: int, k0: int, n0: int, p: float, evidence: tuple[str, ...]) -> Shift:
    low, high = newcombe_interval(k, n, k0, n0)
    return Shift(frame=frame, scope_kind=scope_kind, scope=str(scope), period=period, method=method,
                 share=k / n, baseline_share=k0 / n0, effect=k / n - k0 / n0, ci_low=low,
                 ci_high=high, p_value=p, n=n, evidence=evidence)


def baseline_shifts(series: list[Series], scope_kind: str, options: ShiftOptions,
                    evidence: EvidenceFinder) -> list[Shift]:
    """Periods that differ from their trailing baseline, in one scope kind's series."""
    found = baseline_candidates(series, options)
    if not found:
        return []
    adjusted = false_discovery_control([c["p"] for c in found])
    shifts = []
    for c, q in zip(found, adjusted):
        if q < options.alpha and supported(c["k"], c["n"], c["k0"], c["n0"], options):
            # One period: early_evidence's first try, i.e. evidence_articles of that period.
            rising = c["effect"] > 0
            articles = evidence(scope_kind, str(c["scope"]), c["frame"], [c["period"]], rising)
            shifts.append(_shift(scope_kind, c["scope"], c["frame"], c["period"], "baseline",
                                 c["k"], c["n"], c["k0"], c["n0"], float(q), articles))
    return shifts


def changepoint_shifts(series: list[Series], scope_kind: str, options: ShiftOptions,
                       evidence: EvidenceFinder) -> list[Shift]:
    """Lasting regime changes, in one scope kind's series."""
    shifts = []
    for scope, frame, periods, ns, ks in series:
        if sum(ns) < options.min_scope_n:
            continue
        k, n = np.array(ks, dtype=np.int64), np.array(ns, dtype=np.int64)
        points = change_points(k, n, options)
        bounds = [0] + [i for i, _ in points] + [len(periods)]
        for j, (i, p) in enumerate(points):
            before, after = slice(bounds[j], i), slice(i, bounds[j + 2])
            k1, n1, k0, n0 = int(k[after].sum()), int(n[after].sum()), int(k[before].sum()), int(n[before].sum())
            if not supported(k1, n1, k0, n0, options):
                continue   # neighbouring change points can leave a segment pair too close to report
            articles = evidence(scope_kind, str(scope), frame, periods[after], k1 / n1 > k0 / n0)
            shifts.append(_shift(scope_kind, scope, frame, periods[i], "changepoint",
                                 k1, n1, k0, n0, p, articles))
    return shifts


def detect_shifts_in_counts(counts: DayCounts, evidence: EvidenceFinder, *, period: str = "month",
                            scopes: tuple[str, ...] = SCOPES,
                            options: ShiftOptions | None = None) -> list[Shift]:
    """All significant shifts from day counts, strongest first; `evidence` is asked for the
    articles behind each shift found."""
    options = options or ShiftOptions()
    if counts.scored.empty:
        return []
    labelled = with_period_labels(counts, period)
    shifts: list[Shift] = []
    for scope_kind in scopes:
        series = list(_series(count_table(labelled, scope_kind)))
        shifts += baseline_shifts(series, scope_kind, options, evidence)
        shifts += changepoint_shifts(series, scope_kind, options, evidence)
    return sorted(shifts, key=lambda s: -strength(s))


def detect_shifts(observations: pd.DataFrame, *, period: str = "month",
                  scopes: tuple[str, ...] = SCOPES, options: ShiftOptions | None = None) -> list[Shift]:
    """All significant shifts of every frame in every scope, both methods, strongest first."""
    if observations.empty:
        return []
    return detect_shifts_in_counts(day_counts(observations), ObservationEvidence(observations, period),
                                   period=period, scopes=scopes, options=options)
