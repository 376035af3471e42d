"""Overview: this week against the week before, volume over time, top stories, biggest shifts."""

from datetime import timedelta

import streamlit as st

from monitor.dashboard import data, filters, widgets
from monitor.present import charts

url, flt, period = data.db_url(), filters.current(), filters.period()
week = flt.last_days(7)
previous = week.previous()

st.title("Overview")
st.caption(f"This week: {week.start:%Y-%m-%d} to {week.end - timedelta(days=1):%Y-%m-%d}, "
           f"against {previous.start:%Y-%m-%d} to {previous.end - timedelta(days=1):%Y-%m-%d}.")
widgets.metrics(data.key_numbers(url, week), data.key_numbers(url, previous),
                {"articles": "Articles", "outlets": "Outlets", "languages": "Languages",
                 "stories": "Stories", "new_stories": "New stories"})
failing = data.failing_feeds(url)
if failing:
    st.warning(f"{failing} feed(s) failing: see Sources.")

st.subheader("Coverage over time")
volume = data.volume(url, flt, period)
if not widgets.empty(volume, "No relevant articles in these dates and filters."):
    colour = st.radio("Colour by", ["group", "language"], horizontal=True, key="overview_colour")
    widgets.chart(charts.volume_chart(volume, color=colour, title=f"Articles per {period}"))

st.subheader("Top stories this week")
stories = data.top_stories(url, week, 10)
if not widgets.empty(stories, "No story this week."):
    widgets.table(stories, columns=["headline", "outlets", "languages", "articles", "first_seen", "last_seen"],
                  key="overview_stories",
                  first_seen=st.column_config.DatetimeColumn("first seen", format="YYYY-MM-DD HH:mm"),
                  last_seen=st.column_config.DatetimeColumn("last seen", format="YYYY-MM-DD HH:mm"))

st.subheader("Biggest framing shifts")
shifts = data.shifts(url, flt)
if not widgets.empty(shifts, "No framing shift detected in these dates."):
    widgets.table(shifts.head(5), columns=["label", "scope_kind", "scope", "period", "share",
                                            "baseline_share", "effect", "n"], key="overview_shifts",
                  label=st.column_config.TextColumn("frame"), scope_kind=st.column_config.TextColumn("across"),
                  share=st.column_config.NumberColumn(format="percent"),
                  baseline_share=st.column_config.NumberColumn("baseline", format="percent"),
                  effect=st.column_config.NumberColumn(format="%+.2f"),
                  n=st.column_config.NumberColumn("articles"))
