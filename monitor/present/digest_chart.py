"""The digest's one picture: weekly shares of the frames that shifted, as a small PNG.

Rendered offline by vl-convert (no browser, no network), so the email can carry it as an
inline image and needs no external resource.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import vl_convert as vlc

WIDTH, HEIGHT = 520, 180


def frame_share_chart_png(points: list[dict], *, highlight_week: str) -> bytes | None:
    """A line per frame of its share per week; the digest's week marked by a rule.

    `points` are dicts with week, frame (its label) and share (0..1). None when there is
    nothing to draw."""
    if not points:
        return None
    data = pd.DataFrame(points)
    base = alt.Chart(data).encode(
        x=alt.X("week:O", title=None, axis=alt.Axis(labelAngle=0, labelFontSize=10)),
        y=alt.Y("share:Q", title="share of articles", axis=alt.Axis(format="%", tickCount=4)),
        color=alt.Color("frame:N", title=None, legend=alt.Legend(orient="bottom", columns=2,
                                                                 labelLimit=240)),
    )
    lines = base.mark_line(point=True, strokeWidth=2)
    marker = alt.Chart(pd.DataFrame({"week": [highlight_week]})).mark_rule(
        color="#999999", strokeDash=[4, 3]).encode(x="week:O")
    chart = (marker + lines).properties(width=WIDTH, height=HEIGHT).configure_view(stroke=None) \
        .configure(font="Noto Sans, DejaVu Sans, sans-serif", background="white")
    return vlc.vegalite_to_png(chart.to_json(), scale=1.5)
