"""Annotate: label relevance and frames of articles; labels are saved with who made them."""

import pandas as pd
import streamlit as st

from monitor.dashboard import data, filters, safe, training, widgets

url, flt = data.db_url(), filters.current()
annotator = data.annotator()

st.title("Annotate")
if "annotate_saved" in st.session_state:   # set just before the rerun that follows a save
    st.success(st.session_state.pop("annotate_saved"))
counts = data.annotation_counts(url)
left, right, who = st.columns(3)
left.metric("Relevance labels", counts.get("relevance", 0))
right.metric("Frame labels", counts.get("frames", 0))
who.metric("Annotator", annotator)

kind = st.radio("Label", ["relevance", "frames"], horizontal=True, key="annotate_kind",
                help="Relevance: is it about the topic? Frames: which frames does it carry?")


def label_form(queue) -> None:
    """One article of the queue and the form that saves its label."""
    st.caption("Unlabelled articles, those the relevance model is least sure about first.")
    titles = dict(zip(queue["id"], queue["title"]))
    article_id = st.selectbox("Article", queue["id"].tolist(), format_func=lambda aid: titles[aid][:120] or aid,
                              key="annotate_choice")
    row = queue.set_index("id").loc[article_id]
    widgets.heading(row["title"])
    score = row["relevance_score"]
    st.caption(f"{row['published_at']:%Y-%m-%d} · {safe.literal(row['outlet'])} · {safe.literal(row['language'])}"
               f" · current relevance score {'-' if pd.isna(score) else f'{score:.2f}'}")
    st.text(row["summary"])
    with st.form("annotation", clear_on_submit=True):
        if kind == "relevance":
            answer = st.radio("Is this article about the topic?", ["relevant", "not relevant"],
                              key="answer_relevance")
            value = {"relevant": answer == "relevant"}
        else:
            labels = data.frame_labels()
            chosen = st.multiselect("Frames this article carries", list(labels), format_func=labels.get,
                                    key="answer_frames")
            value = list(chosen)   # the frame ids, as analyze reads them
        if st.form_submit_button("Save label"):
            data.save_annotation(url, article_id, kind, value, annotator)
            st.session_state["annotate_saved"] = (f"Saved {kind} label for {safe.literal(titles[article_id][:80])} "
                                                  f"as {safe.literal(annotator)}.")
            st.rerun()   # the counts and the queue above must show the new label


queue = data.to_annotate(url, flt, kind)
if queue.empty:
    st.info("Nothing left to label in these dates and filters.")
else:
    label_form(queue)

st.subheader("Models")
metrics = data.model_metrics(url)
if metrics:
    quality = training.metrics_table(metrics)
    widgets.table(quality, key="models")
    if quality[["F1", "precision", "recall"]].isna().all(axis=None):
        st.caption("Quality not measured yet (these models were not cross-validated): "
                   "retrain with the labels to measure it.")
else:
    st.info("No trained model yet.")
if st.button("Retrain with the labels", key="retrain",
             help="Train the classifiers on every label and show their cross-validated quality."):
    with st.spinner("Training…"):
        outcome = training.retrain(data.engine(url), data.settings(), kind)
        data.forget_labels()
    if outcome.error:
        st.error(outcome.error)
    else:
        st.success(f"Retrained {outcome.model}.")
        widgets.table(training.metrics_table([outcome.as_row()]), key="retrained")
