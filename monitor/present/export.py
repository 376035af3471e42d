"""Exports: articles, stories, themes and frame scores as CSV, JSON Lines or Parquet.

Lists (frames, outlets, terms) stay lists in JSON Lines and Parquet and are joined with
"; " in CSV. Times are UTC, ISO 8601 in text formats. CSV cells that a spreadsheet would
run as a formula (starting with = + - @ or a tab) get a leading apostrophe: titles come
from feeds and feed content is untrusted.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

import pandas as pd
from sqlalchemy.engine import Engine

from monitor.errors import InputError
from monitor.store import export as queries

Kind = Literal["articles", "stories", "themes", "frames"]
Format = Literal["csv", "jsonl", "parquet"]

COLUMNS: dict[str, tuple[str, ...]] = {
    "articles": ("id", "url", "title", "published", "outlet", "feed", "group", "language", "relevant",
                 "relevance_score", "duplicate_of", "story_id", "theme_id", "theme_label", "frames"),
    "stories": ("id", "headline", "headline_article_id", "first_seen", "last_seen", "article_count",
                "outlets", "languages"),
    "themes": ("id", "label", "terms", "headlines", "size", "status", "born_at", "retired_at"),
    "frames": ("article_id", "frame", "score", "present", "source", "published", "outlet", "group",
               "language"),
}
_QUERIES: dict[str, Callable[..., Iterator[dict[str, Any]]]] = {
    "articles": queries.article_rows, "stories": queries.story_rows,
    "themes": queries.theme_rows, "frames": queries.frame_rows,
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def load_rows(engine: Engine, kind: Kind) -> pd.DataFrame:
    """All rows of one export, in the documented column order."""
    if kind not in _QUERIES:
        raise InputError(f"unknown export {kind!r}; choose one of {', '.join(_QUERIES)}")
    with engine.connect() as conn:
        frame = pd.DataFrame(list(_QUERIES[kind](conn)), columns=list(COLUMNS[kind]))
    return frame


def export(engine: Engine, kind: Kind, fmt: Format, out: Path | None = None,
           stream: IO[str] | None = None) -> int:
    """Write one export to `out` (or `stream`, stdout by default); return the row count."""
    if fmt not in ("csv", "jsonl", "parquet"):
        raise InputError(f"unknown format {fmt!r}; choose csv, jsonl or parquet")
    if fmt == "parquet" and out is None:
        raise InputError("Parquet is binary: give a file with --out")
    if out is not None and not out.parent.exists():
        raise InputError(f"{out}: the folder {out.parent} does not exist")
    frame = load_rows(engine, kind)
    if fmt == "parquet":
        frame.to_parquet(out, index=False)
    elif out is not None:
        with open(out, "w", encoding="utf-8", newline="") as handle:
            _write_text(frame, fmt, handle)
    else:
        _write_text(frame, fmt, stream or sys.stdout)
    return len(frame)


def _write_text(frame: pd.DataFrame, fmt: str, handle: IO[str]) -> None:
    if fmt == "csv":
        _for_csv(frame).to_csv(handle, index=False)
        return
    for record in frame.to_dict("records"):
        handle.write(json.dumps({k: _plain(v) for k, v in record.items()}, ensure_ascii=False) + "\n")


def _plain(value: Any) -> Any:
    """JSON-ready: ISO times, None for missing values, lists as lists."""
    if isinstance(value, (datetime, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, (list, tuple, dict)):
        return value
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return None
    return value.item() if hasattr(value, "item") else value


def _for_csv(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        out[column] = out[column].map(_csv_cell)
    return out


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value)
    elif isinstance(value, (datetime, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
