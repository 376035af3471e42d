"""Named queries behind `monitor export`: one flat row per article, story, theme or frame score."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.store.schema import articles, frame_scores, stories, themes

_BATCH = 5_000


def article_rows(conn: Connection) -> Iterator[dict[str, Any]]:
    """Every article with its story, theme (and label) and the frames present in it."""
    frames = _present_frames(conn)
    query = (sa.select(articles.c.id, articles.c.url, articles.c.title,
                       articles.c.published_at.label("published"), articles.c.outlet, articles.c.feed,
                       articles.c.group_name.label("group"), articles.c.language, articles.c.relevant,
                       articles.c.relevance_score, articles.c.duplicate_of, articles.c.story_id,
                       articles.c.theme_id, themes.c.label.label("theme_label"))
             .select_from(articles.outerjoin(themes, themes.c.id == articles.c.theme_id))
             .order_by(articles.c.published_at, articles.c.id))
    for row in conn.execution_options(yield_per=_BATCH).execute(query):
        yield {**row._mapping, "frames": frames.get(row.id, [])}


def _present_frames(conn: Connection) -> dict[str, list[str]]:
    query = (sa.select(frame_scores.c.article_id, frame_scores.c.frame)
             .where(frame_scores.c.present.is_(True))
             .order_by(frame_scores.c.article_id, frame_scores.c.score.desc(), frame_scores.c.frame))
    out: dict[str, list[str]] = {}
    for article_id, frame in conn.execute(query):
        out.setdefault(article_id, []).append(frame)
    return out


def story_rows(conn: Connection) -> Iterator[dict[str, Any]]:
    query = (sa.select(stories.c.id, stories.c.headline, stories.c.headline_article_id,
                       stories.c.first_seen, stories.c.last_seen, stories.c.article_count,
                       stories.c.outlets, stories.c.languages)
             .order_by(stories.c.first_seen, stories.c.id))
    for row in conn.execute(query):
        yield dict(row._mapping)


def theme_rows(conn: Connection) -> Iterator[dict[str, Any]]:
    query = (sa.select(themes.c.id, themes.c.label, themes.c.terms, themes.c.headlines,
                       themes.c.size, themes.c.status, themes.c.born_at, themes.c.retired_at)
             .order_by(themes.c.status, themes.c.size.desc(), themes.c.id))
    for row in conn.execute(query):
        yield dict(row._mapping)


def frame_rows(conn: Connection) -> Iterator[dict[str, Any]]:
    """One row per article and frame scored, with the article's date and source."""
    query = (sa.select(frame_scores.c.article_id, frame_scores.c.frame, frame_scores.c.score,
                       frame_scores.c.present, frame_scores.c.source,
                       articles.c.published_at.label("published"), articles.c.outlet,
                       articles.c.group_name.label("group"), articles.c.language)
             .select_from(frame_scores.join(articles, articles.c.id == frame_scores.c.article_id))
             .order_by(articles.c.published_at, frame_scores.c.article_id, frame_scores.c.frame))
    for row in conn.execution_options(yield_per=_BATCH).execute(query):
        yield dict(row._mapping)
