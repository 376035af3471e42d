"""Articles: full-text search over titles and summaries, a sortable table, one article's detail."""

import streamlit as st

from monitor.dashboard import data, filters, safe, widgets, words

url, flt = data.db_url(), filters.current()

st.title("Articles")
query = st.text_input("Search titles and summaries", value=st.query_params.get("q", ""), key="article_query",
                      help="Case-insensitive; matches anywhere in the title or summary.")
relevant_only = st.toggle("Relevant articles only", value=True, key="article_relevant")
if query:
    st.query_params["q"] = query
elif "q" in st.query_params:
    del st.query_params["q"]

found, total = data.search(url, flt, query, relevant_only)
st.caption(f"{total} articles match; showing the newest {len(found)}. Click a column header to sort.")
if widgets.empty(found, "No article matches."):
    st.stop()
widgets.table(found, columns=["published_at", "outlet", "group", "language", "title", "url", "relevance_score"],
              key="article_table", relevance_score=st.column_config.NumberColumn("relevance", format="%.2f"),
              title=st.column_config.TextColumn(width="large"),   # keeps the link column in view
              published_at=st.column_config.DatetimeColumn("published", format="YYYY-MM-DD HH:mm"))

titles = dict(zip(found["id"], found["title"]))
ids = found["id"].tolist()
wanted = st.query_params.get("article")
chosen = st.selectbox("Article", ids, index=ids.index(wanted) if wanted in ids else 0,
                      format_func=lambda aid: titles[aid][:120] or aid, key="article_choice")
st.query_params["article"] = chosen

article = data.article(url, chosen)
widgets.heading(article["title"])
st.caption(f"{article['published_at']:%Y-%m-%d %H:%M} UTC · {safe.literal(article['outlet'])} · "
           f"{safe.literal(article['language'])} · feed {safe.literal(article['feed'])}")
link = safe.http_url(article["url"])
if link:
    st.link_button("Open the original", link)
st.text(article["summary"])
facts = {
    "relevant": article["relevant"],
    "relevance score": article["relevance_score"],
    "why": article["relevance_reason"],
    "story": article["story_headline"],
    "theme": words.readable_label(article["theme_label"], data.theme_words(url)) if article["theme_label"] else None,
    "duplicate of": article["duplicate_of"],
}
st.dataframe({"field": list(facts), "value": [str(v) if v is not None else "" for v in facts.values()]},
             hide_index=True, key="article_facts")
frames = [f for f in article["frames"] if f["present"]]
st.markdown("**Frames**")
if frames:
    labels = data.frame_labels()
    st.dataframe({"frame": [labels.get(f["frame"], f["frame"]) for f in frames],
                  "score": [round(f["score"], 3) for f in frames],
                  "evidence": [", ".join(map(str, f["evidence"] or [])) for f in frames]},
                 hide_index=True, key="article_frames")
else:
    st.text("No frame found in this article.")
