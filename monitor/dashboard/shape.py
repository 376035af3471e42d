"""Pure pandas shaping of query rows for the pages: days into periods, counts into shares.

Nothing here touches Streamlit or the database, so it is tested on plain data.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import datetime, timezone

import pandas as pd

from monitor.analyze.distinctive import log_odds_dirichlet
from monitor.analyze.series import wilson_interval

PERIODS = {"week": "W", "month": "M", "quarter": "Q"}


def by_period(rows: list[dict], period: str, keys: list[str], value: str = "articles") -> pd.DataFrame:
    """Sum `value` of rows with a 'day' (YYYY-MM-DD) per period start and `keys`."""
    columns = ["period", *keys, value]
    if not rows:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(rows)
    frame["period"] = pd.to_datetime(frame["day"]).dt.to_period(PERIODS[period]).dt.start_time
    return frame.groupby(["period", *keys], as_index=False)[value].sum()[columns]


def frame_shares(carried: list[dict], scored: list[dict], period: str,
                 labels: dict[str, str] | None = None) -> pd.DataFrame:
    """Share of scored articles carrying each frame per period and scope, with intervals.

    `carried` rows: day, scope, frame, articles; `scored` rows: day, scope, articles.
    Periods where a scope had scored articles but no article carried a frame get share 0."""
    columns = ["period", "scope", "frame", "label", "carried", "scored", "share", "low", "high"]
    totals = by_period(scored, period, ["scope"]).rename(columns={"articles": "scored"})
    if totals.empty:
        return pd.DataFrame(columns=columns)
    hits = by_period(carried, period, ["scope", "frame"]).rename(columns={"articles": "carried"})
    frames = sorted(hits["frame"].unique()) if not hits.empty else []
    grid = totals.merge(pd.DataFrame({"frame": frames}), how="cross")
    out = grid.merge(hits, on=["period", "scope", "frame"], how="left").fillna({"carried": 0})
    out["carried"] = out["carried"].astype(int)
    out["share"] = out["carried"] / out["scored"]
    intervals = [wilson_interval(k, n) for k, n in zip(out["carried"], out["scored"])]
    out["low"], out["high"] = [i[0] for i in intervals], [i[1] for i in intervals]
    out["label"] = out["frame"].map(lambda f: (labels or {}).get(f, f))
    return out[columns].sort_values(["frame", "scope", "period"]).reset_index(drop=True)


def frame_profile(carried: list[dict], totals: dict[str, int], key: str = "outlet") -> pd.DataFrame:
    """Per `key` (outlet, group) and frame: the share of its articles carrying the frame."""
    if not carried:
        return pd.DataFrame(columns=[key, "frame", "articles", "share"])
    frame = pd.DataFrame(carried)
    frame["share"] = frame.apply(lambda r: r["articles"] / totals[r[key]] if totals.get(r[key]) else 0.0,
                                 axis=1)
    return frame[[key, "frame", "articles", "share"]]


def period_start(label: str) -> datetime | None:
    """The first instant of a shift's period label: 2019-06, 2019-Q2, 2019-W23 or 2019-06-03."""
    patterns = [
        (r"(\d{4})-Q([1-4])", lambda y, q: datetime(int(y), 3 * int(q) - 2, 1)),
        (r"(\d{4})-W(\d{2})", lambda y, w: datetime.fromisocalendar(int(y), int(w), 1)),
        (r"(\d{4})-(\d{2})-(\d{2})", lambda y, m, d: datetime(int(y), int(m), int(d))),
        (r"(\d{4})-(\d{2})", lambda y, m: datetime(int(y), int(m), 1)),
    ]
    for pattern, build in patterns:
        match = re.fullmatch(pattern, label.strip())
        if match:
            try:
                return build(*match.groups()).replace(tzinfo=timezone.utc)
            except ValueError:
                return None
    return None


def change(current: float, previous: float) -> str | None:
    """A metric's change against the previous period, as Streamlit's delta text."""
    if previous == 0:
        return None if current == 0 else "new"
    percent = 100.0 * (current - previous) / previous
    return f"{percent:+.0f}%" if math.isfinite(percent) else None



def distinctive(counts_a: Counter, counts_b: Counter, top: int = 15) -> pd.DataFrame:
    """The `top` terms most typical of A (z > 0) and of B (z < 0), by analyze.distinctive."""
    ranked = log_odds_dirichlet(counts_a, counts_b)
    picked = [t for t in ranked[:top] if t.z > 0] + [t for t in ranked[-top:] if t.z < 0]
    rows = [(t.term, t.z, t.count_a, t.count_b) for t in dict.fromkeys(picked)]
    return pd.DataFrame(rows, columns=["term", "z", "count_a", "count_b"])
