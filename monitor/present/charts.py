"""Altair chart builders shared by the dashboard and the digest.

Each builder takes a tidy DataFrame and returns an unconfigured chart, so callers can
layer or concatenate them; `themed()` adds the shared font and size last. The font list
puts Noto (with its CJK and Cyrillic coverage) first so Chinese and Russian labels render
in browsers and in vl-convert alike.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

FONT = "Noto Sans, Noto Sans CJK SC, Noto Sans SC, DejaVu Sans, sans-serif"
PERCENT = ".0%"
# Ten distinct, saturated hues: Streamlit's default pairs each colour with a pale one that
# a legend entry can hardly be read in.
CATEGORIES = alt.Scale(scheme="tableau10")
# Opaque symbols even where a layer (an interval band) is faint; room for long frame names.
LEGEND = alt.Legend(title=None, symbolOpacity=1, labelLimit=340)
PERIOD_AXIS = alt.Axis(format="%b %Y", labelOverlap=True)


def themed(chart: alt.TopLevelMixin, *, width: int | str = "container", height: int = 280):
    """The chart with the shared font and size (call once, on the outermost chart)."""
    return (chart.properties(width=width, height=height)
            .configure(font=FONT).configure_axis(labelFont=FONT, titleFont=FONT)
            .configure_legend(labelFont=FONT, titleFont=FONT, labelLimit=260))


def volume_chart(frame: pd.DataFrame, color: str = "group", title: str = "Articles") -> alt.Chart:
    """Stacked bars of articles per period, coloured by `color` (group, language, outlet)."""
    # Periods on a band scale: bars as wide as the period, whatever the number of periods.
    return alt.Chart(frame, title=title).mark_bar().encode(
        x=alt.X("yearmonthdate(period):O", title=None,
                axis=alt.Axis(format="%Y-%m-%d", formatType="time", labelAngle=-45, labelOverlap=True)),
        y=alt.Y("sum(articles):Q", title="articles"),
        color=alt.Color(f"{color}:N", title=color, scale=CATEGORIES),
        tooltip=[alt.Tooltip("period:T", title="period start"), alt.Tooltip(f"{color}:N"),
                 alt.Tooltip("sum(articles):Q", title="articles")],
    )


def line_chart(frame: pd.DataFrame, *, y: str = "articles", color: str = "label",
               title: str = "") -> alt.Chart:
    """Lines with points of `y` per period, one per `color` value (e.g. theme prevalence)."""
    return alt.Chart(frame, title=title).mark_line(point=True).encode(
        x=alt.X("period:T", title=None, axis=PERIOD_AXIS),
        y=alt.Y(f"{y}:Q", title=y),
        color=alt.Color(f"{color}:N", title=None, scale=CATEGORIES, legend=LEGEND),
        tooltip=[alt.Tooltip("period:T", title="period start"), f"{color}:N", f"{y}:Q"],
    )


def frame_share_chart(frame: pd.DataFrame, color: str = "label", title: str = "Frame share") -> alt.LayerChart:
    """Frame share per period as lines, with a band for the 95% interval of each share.

    `frame` needs period, share, low, high, carried, scored and the `color` column."""
    base = alt.Chart(frame, title=title).encode(
        x=alt.X("period:T", title=None, axis=PERIOD_AXIS),
        color=alt.Color(f"{color}:N", title=None, scale=CATEGORIES, legend=LEGEND),
    )
    band = base.mark_area(opacity=0.12).encode(
        y=alt.Y("low:Q", title="share of articles", axis=alt.Axis(format=PERCENT)), y2="high:Q")
    tooltip = [alt.Tooltip("period:T", title="period start"), alt.Tooltip(f"{color}:N"),
               alt.Tooltip("share:Q", format=PERCENT), alt.Tooltip("low:Q", format=PERCENT),
               alt.Tooltip("high:Q", format=PERCENT), alt.Tooltip("carried:Q", title="articles with frame"),
               alt.Tooltip("scored:Q", title="articles scored")]
    line = base.mark_line(point=True).encode(y="share:Q", tooltip=tooltip)
    return alt.layer(band, line)


def heatmap(frame: pd.DataFrame, *, x: str, y: str, value: str, title: str = "",
            percent: bool = True) -> alt.Chart:
    """A heatmap of `value` over `x` by `y` (e.g. theme by source group, frame by outlet)."""
    fmt = PERCENT if percent else "d"
    return alt.Chart(frame, title=title).mark_rect().encode(
        # Every column and row keeps its label (Vega drops overlapping ones by default).
        x=alt.X(f"{x}:N", title=None, axis=alt.Axis(labelAngle=-40, labelLimit=220, labelOverlap=False)),
        y=alt.Y(f"{y}:N", title=None, axis=alt.Axis(labelLimit=320, labelOverlap=False)),
        color=alt.Color(f"{value}:Q", title=None, scale=alt.Scale(scheme="blues"),
                        legend=alt.Legend(format=fmt)),
        tooltip=[f"{x}:N", f"{y}:N", alt.Tooltip(f"{value}:Q", format=fmt)],
    )


def distinctive_terms_chart(frame: pd.DataFrame, *, names: tuple[str, str] = ("A", "B"),
                            title: str = "Distinctive terms") -> alt.Chart:
    """Horizontal bars of terms by log-odds z-score: positive leans to names[0], negative to names[1].

    `frame` needs term and z columns."""
    data = frame.assign(side=frame["z"].map(lambda z: names[0] if z > 0 else names[1]))
    return alt.Chart(data, title=title).mark_bar().encode(
        x=alt.X("z:Q", title=f"z-score (← {names[1]} · {names[0]} →)"),
        y=alt.Y("term:N", sort=alt.EncodingSortField("z", order="descending"), title=None,
                axis=alt.Axis(labelOverlap=False)),   # every bar keeps its word
        color=alt.Color("side:N", title=None, scale=alt.Scale(domain=list(names))),
        tooltip=["term:N", alt.Tooltip("z:Q", format=".2f"), "side:N"],
    )
