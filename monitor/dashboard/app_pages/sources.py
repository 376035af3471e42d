"""Sources: outlets with their volume and frame profile; feed health, failing feeds first."""

import streamlit as st

from monitor.dashboard import data, filters, widgets
from monitor.present import charts

url, flt = data.db_url(), filters.current()

st.title("Sources")
st.subheader("Outlets")
outlets = data.outlets(url, flt)
if not widgets.empty(outlets, "No relevant articles in these dates and filters."):
    widgets.table(outlets, columns=["outlet", "group", "articles", "languages", "stories", "last_article"],
                  key="outlets")
    profile = data.outlet_frames(url, flt)
    if not widgets.empty(profile, "No frame scores yet."):
        widgets.chart(charts.heatmap(profile, x="label", y="outlet", value="share",
                                     title="Frame profile: share of each outlet's articles carrying the frame"),
                      height=max(120, 32 * profile["outlet"].nunique()))

st.subheader("Feed health")
feeds = data.feeds(url)
if not widgets.empty(feeds, "No feeds yet: run `monitor fetch`."):
    failing = int(((feeds["consecutive_failures"] > 0) | feeds["flagged"].astype(bool)).sum())
    st.caption(f"{len(feeds)} enabled feeds, {failing} failing. Failing feeds come first.")
    widgets.table(feeds, columns=["name", "consecutive_failures", "flagged", "last_status", "last_error_class",
                                  "last_error", "last_success_at", "last_attempt_at", "next_due_at",
                                  "entries_per_day", "parse_warning", "url"], key="feeds")
