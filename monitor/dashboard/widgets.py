"""Small display helpers shared by the pages: safe tables with links, charts, metrics."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from monitor.dashboard import safe, shape
from monitor.present.charts import themed


def table(frame: pd.DataFrame, *, columns: list[str] | None = None, key: str | None = None,
          height: int | str = "auto", **config) -> None:
    """A sortable table; an `url` column becomes a link only where the URL is http(s).

    Cells are plain text, so titles carrying markup are shown, never rendered."""
    frame = frame.copy()
    if "url" in frame:
        frame["url"] = frame["url"].map(safe.http_url)
    column_config = {"url": st.column_config.LinkColumn("link", display_text="open")}
    for name in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[name]):
            column_config[name] = st.column_config.DatetimeColumn(name, format="YYYY-MM-DD HH:mm")
    column_config.update(config)
    st.dataframe(frame, column_order=columns, column_config=column_config, hide_index=True,
                 key=key, height=height)


def chart(built, *, height: int = 280) -> None:
    """An Altair chart at the page's width, with the shared font."""
    st.altair_chart(themed(built, height=height), width="stretch")


def metrics(now: dict, before: dict, labels: dict[str, str]) -> None:
    """A row of metrics, each with its change against the previous period."""
    for column, (key, label) in zip(st.columns(len(labels)), labels.items()):
        column.metric(label, now.get(key, 0), shape.change(now.get(key, 0), before.get(key, 0)))


def heading(text: str | None) -> None:
    """A title from feed content, shown literally."""
    st.subheader(safe.literal(text) or "(untitled)")


def empty(frame: pd.DataFrame, message: str) -> bool:
    """Say `message` and return True when there is nothing to show."""
    if frame.empty:
        st.info(message)
        return True
    return False
