"""Themes: what each is about, how prevalent over time, in which source groups, births and merges."""

import streamlit as st

from monitor.dashboard import data, filters, widgets
from monitor.present import charts

url, flt, period = data.db_url(), filters.current(), filters.period()

st.title("Themes")
themes = data.themes(url, flt)
if widgets.empty(themes, "No themes yet: run `monitor analyze`."):
    st.stop()
listing = themes.assign(terms=themes["terms"].map(lambda terms: ", ".join(terms or [])))
widgets.table(listing, columns=["label", "terms", "window_articles", "size", "status", "born_at", "retired_at"],
              key="themes_list", window_articles=st.column_config.NumberColumn("articles in dates"),
              size=st.column_config.NumberColumn("articles in all"))

ids = themes["id"].tolist()
labels = dict(zip(themes["id"], themes["label"]))
chosen = st.selectbox("Theme", ids, format_func=lambda tid: labels[tid], key="theme_choice")
row = themes.set_index("id").loc[chosen]
st.markdown("**Representative headlines**")
for headline in row["headlines"] or []:
    st.text(headline)

st.subheader("Prevalence over time")
prevalence = data.theme_prevalence(url, flt, period)
if not widgets.empty(prevalence, "No themed articles in these dates."):
    measure = st.radio("Show", ["share", "articles"], horizontal=True, key="theme_measure",
                       help="Share of the period's coverage, or article counts.")
    widgets.chart(charts.line_chart(prevalence, y=measure, color="label", title=f"Theme {measure} per {period}"))

st.subheader("Themes by source group")
by_group = data.theme_by_group(url, flt)
if not widgets.empty(by_group, "No themed articles in these dates."):
    widgets.chart(charts.heatmap(by_group, x="group", y="label", value="share",
                                 title="Share of each group's themed articles"),
                  height=max(120, 40 * by_group["label"].nunique()))

st.subheader("Births, merges, splits and retirements")
events = data.theme_events(url)
if not widgets.empty(events, "No theme events recorded."):
    widgets.table(events.assign(related=events["related"].map(lambda r: ", ".join(r or []))),
                  columns=["at", "kind", "label", "theme_id", "related"], key="theme_events")
