"""Stories: the events of the window, and one story's coverage: who, in which language, how framed."""

import streamlit as st

from monitor.dashboard import data, filters, safe, widgets
from monitor.present import charts

url, flt = data.db_url(), filters.current()

st.title("Stories")
stories = data.top_stories(url, flt, 200)
if widgets.empty(stories, "No story in these dates and filters."):
    st.stop()
widgets.table(stories, columns=["headline", "outlets", "languages", "articles", "first_seen", "last_seen"],
              key="stories_list", height=300,
              first_seen=st.column_config.DatetimeColumn("first seen", format="YYYY-MM-DD HH:mm"),
              last_seen=st.column_config.DatetimeColumn("last seen", format="YYYY-MM-DD HH:mm"))

ids = stories["id"].tolist()
headlines = dict(zip(stories["id"], stories["headline"]))
wanted = st.query_params.get("story")
chosen = st.selectbox("Story", ids, index=ids.index(wanted) if wanted in ids else 0,
                      format_func=lambda sid: headlines[sid], key="story_choice",
                      help="Stories with the widest coverage first.")
st.query_params["story"] = chosen

detail = data.story(url, chosen)
widgets.heading(detail["headline"])
st.caption(f"{detail['first_seen']:%Y-%m-%d} to {detail['last_seen']:%Y-%m-%d} · story {safe.literal(chosen)}")
originals = detail["articles"][detail["articles"]["duplicate_of"].isna()]
left, middle, right = st.columns(3)
left.metric("Articles", len(originals), help="Copies of another article (duplicate_of) not counted.")
middle.metric("Outlets", originals["outlet"].nunique())
right.metric("Languages", originals["language"].nunique())

st.subheader("Articles")
widgets.table(detail["articles"], columns=["published_at", "outlet", "group", "language", "title", "url",
                                           "duplicate_of"], key="story_articles",
              published_at=st.column_config.DatetimeColumn("published", format="YYYY-MM-DD HH:mm"),
              title=st.column_config.TextColumn(width="large"),
              duplicate_of=st.column_config.TextColumn("copy of"))

st.subheader("Same event, different frames")
mix = detail["frame_mix"]
if not widgets.empty(mix, "No frame scores for this story's articles yet."):
    widgets.chart(charts.heatmap(mix, x="label", y="outlet", value="share",
                                 title="Share of each outlet's articles carrying the frame"),
                  height=max(120, 40 * mix["outlet"].nunique()))
    widgets.table(mix, columns=["outlet", "group", "label", "articles", "outlet_articles", "share"],
                  key="story_frames", share=st.column_config.NumberColumn(format="percent"),
                  label=st.column_config.TextColumn("frame"),
                  articles=st.column_config.NumberColumn("articles with the frame"),
                  outlet_articles=st.column_config.NumberColumn("outlet's articles"))
