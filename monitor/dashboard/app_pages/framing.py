"""Framing: frame shares over time with intervals, two periods or groups compared, shifts with evidence."""

from dataclasses import replace
from datetime import datetime, time, timedelta, timezone

import streamlit as st

from monitor.dashboard import data, filters, widgets
from monitor.present import charts

url, flt, period = data.db_url(), filters.current(), filters.period()
options = data.filter_options(url)

st.title("Framing")
st.subheader("Frame shares over time")
scope = st.radio("Compare across", ["all", "group", "language", "outlet"], horizontal=True, key="framing_scope",
                 help="One line per frame over all coverage, or one frame across groups, languages or outlets.")
shares = data.frame_shares(url, flt, period, None if scope == "all" else scope)
if not widgets.empty(shares, "No frame-scored articles in these dates and filters."):
    ranked = shares.groupby("label")["share"].mean().sort_values(ascending=False).index.tolist()
    if scope == "all":
        chosen = st.multiselect("Frames", ranked, default=ranked[:4], key="framing_frames")
        shown, colour = shares[shares["label"].isin(chosen)], "label"
    else:
        chosen = st.selectbox("Frame", ranked, key="framing_frame")
        shown, colour = shares[shares["label"] == chosen], "scope"
    widgets.chart(charts.frame_share_chart(shown, color=colour,
                                           title=f"Share of articles per {period} (95% Wilson interval)"))
    widgets.table(shown, columns=["period", "scope", "label", "carried", "scored", "share", "low", "high"],
                  key="framing_table", height=240,
                  period=st.column_config.DatetimeColumn("period start", format="YYYY-MM-DD"),
                  share=st.column_config.NumberColumn(format="percent"),
                  low=st.column_config.NumberColumn(format="percent"),
                  high=st.column_config.NumberColumn(format="percent"))

st.subheader("What distinguishes two slices of coverage")
mode = st.radio("Compare", ["two periods", "two groups"], horizontal=True, key="framing_compare")


def window(days: tuple) -> tuple[datetime, datetime]:
    start, end = days[0], days[-1]
    return (datetime.combine(start, time.min, tzinfo=timezone.utc),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=timezone.utc))


if mode == "two periods":
    middle = (flt.start + (flt.end - flt.start) / 2).date()
    first_days = st.date_input("First period", (flt.start.date(), middle - timedelta(days=1)), key="framing_a")
    second_days = st.date_input("Second period", (middle, (flt.end - timedelta(days=1)).date()), key="framing_b")
    first = replace(flt, start=window(first_days)[0], end=window(first_days)[1])
    second = replace(flt, start=window(second_days)[0], end=window(second_days)[1])
    names = ("second period", "first period")
    first, second = second, first   # what rose: the later period against the earlier one
else:
    groups = options["groups"] or ["other"]
    group_a = st.selectbox("Group A", groups, key="framing_group_a")
    group_b = st.selectbox("Group B", groups, index=min(1, len(groups) - 1), key="framing_group_b")
    first, second = replace(flt, groups=(group_a,)), replace(flt, groups=(group_b,))
    names = (group_a, group_b)
terms = data.distinctive_terms(url, first, second)
if not widgets.empty(terms, "Not enough tokenised articles on both sides to compare."):
    widgets.chart(charts.distinctive_terms_chart(terms, names=names,
                                                 title="Distinctive terms (log-odds, informative Dirichlet prior)"),
                  height=max(160, 22 * len(terms)))
    widgets.table(terms, key="terms_table", height=200,
                  count_a=st.column_config.NumberColumn(f"count in {names[0]}"),
                  count_b=st.column_config.NumberColumn(f"count in {names[1]}"))

st.subheader("Detected shifts")
shifts = data.shifts(url, flt)
if widgets.empty(shifts, "No framing shift detected in these dates."):
    st.stop()
widgets.table(shifts, columns=["label", "scope_kind", "scope", "period", "method", "share", "baseline_share",
                               "effect", "ci_low", "ci_high", "p_value", "n"], key="shifts_table",
              label=st.column_config.TextColumn("frame"), scope_kind=st.column_config.TextColumn("across"),
              share=st.column_config.NumberColumn(format="percent"),
              baseline_share=st.column_config.NumberColumn("baseline", format="percent"),
              effect=st.column_config.NumberColumn(format="%+.2f"),
              ci_low=st.column_config.NumberColumn("effect 95% low", format="%+.2f"),
              ci_high=st.column_config.NumberColumn("effect 95% high", format="%+.2f"),
              p_value=st.column_config.NumberColumn("p", format="%.3f"),
              n=st.column_config.NumberColumn("articles"))
described = {row.id: f"{row.label} · {row.scope} · {row.period} ({row.effect:+.2f})" for row in shifts.itertuples()}
shift_id = st.selectbox("Evidence for", list(described), format_func=described.get, key="shift_choice")
evidence = shifts.set_index("id").loc[shift_id, "evidence"] or []
widgets.table(data.articles_by_id(url, tuple(evidence)), columns=["published_at", "outlet", "group", "language",
                                                                  "title", "url"], key="shift_evidence")
