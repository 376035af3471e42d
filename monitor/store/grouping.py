"""Named queries for stories and themes: their inputs, their rows and theme prevalence.

Only relevant originals (relevant and not a near-duplicate of another article) are
grouped; everything here is derived data that `analyze --full` can rebuild.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.store.db import chunks, upsert
from monitor.store.schema import analysis_state, articles, stories, theme_events, themes

LEAD_CHARS = 600      # the lead of an article: enough for names and numbers

_GROUPED = sa.and_(articles.c.relevant.is_(True), articles.c.duplicate_of.is_(None))



# --- stories -------------------------------------------------------------------------------

_STORY_INPUT = (articles.c.id, articles.c.published_at, articles.c.language, articles.c.outlet,
                articles.c.title, sa.func.substr(articles.c.summary, 1, LEAD_CHARS).label("lead"),
                articles.c.tokens, articles.c.tokens_version, articles.c.story_id)


def clear_stories(conn: Connection) -> None:
    """Forget every story row (for a full rebuild). Articles keep their story ids until
    the rebuild overwrites them: rewriting only the ids that change spares SQLite a
    rewrite of every grouped article (most ids come back unchanged)."""
    conn.execute(stories.delete())


def release_ungrouped(conn: Connection) -> set[str]:
    """Take articles that are no longer relevant originals out of their stories and
    themes; return the story ids that lost members."""
    stale = sa.or_(articles.c.relevant.is_not(True), articles.c.duplicate_of.is_not(None))
    grouped = sa.or_(articles.c.story_id.is_not(None), articles.c.theme_id.is_not(None))
    # One scan of the table finds them (usually none); the update then goes by id.
    held = conn.execute(sa.select(articles.c.id, articles.c.story_id).where(stale).where(grouped)).all()
    for chunk in chunks([row.id for row in held]):
        conn.execute(articles.update().where(articles.c.id.in_(chunk)).values(story_id=None, theme_id=None))
    return {row.story_id for row in held if row.story_id is not None}


def story_inputs(conn: Connection, *, unassigned_only: bool = True) -> list[sa.Row]:
    """Relevant originals not yet in a story (or all of them, with their story ids)."""
    query = sa.select(*_STORY_INPUT).where(_GROUPED)
    if unassigned_only:
        query = query.where(articles.c.story_id.is_(None))
    return list(conn.execute(query))


def open_story_ids(conn: Connection, since: datetime) -> list[str]:
    """Stories whose last article is at or after `since`: new articles may still join them."""
    return list(conn.execute(sa.select(stories.c.id).where(stories.c.last_seen >= since)).scalars())


def story_member_inputs(conn: Connection, story_ids: Iterable[str]) -> list[sa.Row]:
    """Every current member of these stories."""
    rows: list[sa.Row] = []
    for chunk in chunks(sorted(set(story_ids))):
        rows.extend(conn.execute(sa.select(*_STORY_INPUT).where(_GROUPED)
                                 .where(articles.c.story_id.in_(chunk))))
    return rows


def set_article_stories(conn: Connection, story_of: Mapping[str, str]) -> None:
    """Record each article's story id."""
    _set_column(conn, "story_id", story_of)


def _set_column(conn: Connection, column: str, values: Mapping[str, str | None]) -> None:
    if not values:
        return
    stmt = (articles.update().where(articles.c.id == sa.bindparam("_article"))
            .values({column: sa.bindparam("_value")}))
    conn.execute(stmt, [{"_article": k, "_value": v} for k, v in values.items()])


def save_stories(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert or replace story rows (keys: the stories table's columns)."""
    upsert(conn, stories, rows, ["id"])


def delete_stories(conn: Connection, story_ids: Iterable[str]) -> None:
    for chunk in chunks(sorted(set(story_ids))):
        conn.execute(stories.delete().where(stories.c.id.in_(chunk)))


def list_stories(conn: Connection, *, limit: int | None = None, since: datetime | None = None,
                 min_articles: int = 1) -> list[dict[str, Any]]:
    """Stories, the most recently active first."""
    query = (sa.select(stories).where(stories.c.article_count >= min_articles)
             .order_by(stories.c.last_seen.desc(), stories.c.id))
    if since is not None:
        query = query.where(stories.c.last_seen >= since)
    if limit is not None:
        query = query.limit(limit)
    return [dict(row._mapping) for row in conn.execute(query)]


def count_stories(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(stories)).scalar() or 0)


# --- themes --------------------------------------------------------------------------------

_THEME_INPUT = (articles.c.id, articles.c.title, articles.c.tokens, articles.c.tokens_version,
                articles.c.language, articles.c.summary, articles.c.theme_id)


def theme_inputs(conn: Connection, *, unassigned_only: bool = False) -> list[sa.Row]:
    """Relevant originals with their cached tokens (all, or only those without a theme)."""
    query = sa.select(*_THEME_INPUT).where(_GROUPED).order_by(articles.c.id)
    if unassigned_only:
        query = query.where(articles.c.theme_id.is_(None))
    return list(conn.execute(query))


def count_grouped(conn: Connection) -> int:
    """How many relevant originals there are."""
    return int(conn.execute(sa.select(sa.func.count()).select_from(articles).where(_GROUPED)).scalar() or 0)


def load_themes(conn: Connection, *, active_only: bool = True) -> list[dict[str, Any]]:
    query = sa.select(themes).order_by(themes.c.size.desc(), themes.c.id)
    if active_only:
        query = query.where(themes.c.status == "active")
    return [dict(row._mapping) for row in conn.execute(query)]


def save_themes(conn: Connection, rows: list[dict[str, Any]]) -> None:
    upsert(conn, themes, rows, ["id"])


def retire_themes(conn: Connection, theme_ids: Iterable[str], at: datetime) -> None:
    for chunk in chunks(sorted(set(theme_ids))):
        conn.execute(themes.update().where(themes.c.id.in_(chunk))
                     .values(status="retired", retired_at=at))


def add_theme_events(conn: Connection, events: list[dict[str, Any]]) -> None:
    """Rows with keys at, kind (birth, merge, split, retirement), theme_id, related."""
    if events:
        conn.execute(theme_events.insert(), events)


def list_theme_events(conn: Connection) -> list[dict[str, Any]]:
    query = sa.select(theme_events).order_by(theme_events.c.at, theme_events.c.id)
    return [dict(row._mapping) for row in conn.execute(query)]


def set_article_themes(conn: Connection, theme_of: Mapping[str, str | None]) -> None:
    _set_column(conn, "theme_id", theme_of)


def clear_article_themes(conn: Connection) -> None:
    conn.execute(articles.update().where(articles.c.theme_id.is_not(None)).values(theme_id=None))


def theme_sizes(conn: Connection) -> dict[str, int]:
    query = (sa.select(articles.c.theme_id, sa.func.count()).where(_GROUPED)
             .where(articles.c.theme_id.is_not(None)).group_by(articles.c.theme_id))
    return {theme: int(n) for theme, n in conn.execute(query)}


def theme_prevalence(conn: Connection, *, period: Literal["week", "month"] = "month",
                     by_group: bool = False) -> list[dict[str, Any]]:
    """Articles per theme per period (and source group), with the theme's share of the
    period's (group's) grouped articles. Periods: ISO week `2024-W07` or month `2024-02`."""
    query = (sa.select(articles.c.theme_id, articles.c.published_at, articles.c.group_name)
             .where(_GROUPED).where(articles.c.theme_id.is_not(None)))
    frame = pd.DataFrame(list(conn.execute(query)), columns=["theme_id", "published", "group"])
    if frame.empty:
        return []
    published = pd.to_datetime(frame["published"], utc=True)
    if period == "week":
        iso = published.dt.isocalendar()
        frame["period"] = iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)
    else:
        frame["period"] = published.dt.strftime("%Y-%m")
    keys = ["period", "group"] if by_group else ["period"]
    counts = frame.groupby(keys + ["theme_id"]).size().rename("articles").reset_index()
    counts["share"] = counts["articles"] / counts.groupby(keys)["articles"].transform("sum")
    counts = counts.sort_values(keys + ["articles"], ascending=[True] * len(keys) + [False])
    return counts.to_dict("records")


# --- bookkeeping ---------------------------------------------------------------------------

def get_state(conn: Connection, key: str) -> Any:
    return conn.execute(sa.select(analysis_state.c.value).where(analysis_state.c.key == key)).scalar()


def set_state(conn: Connection, key: str, value: Any, at: datetime) -> None:
    upsert(conn, analysis_state, [{"key": key, "value": value, "updated_at": at}], ["key"])
