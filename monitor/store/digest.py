"""Named queries behind the weekly digest and the spike alerts, and their send records.

Every window is half-open [start, end) in UTC. "Coverage" means relevant articles that
are not duplicates of another article, as on the dashboard. Queries aggregate in the
database so a digest over 100,000 articles never pulls them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.store.db import upsert
from monitor.store.views import articles_by_id
from monitor.store.schema import (alerts, articles, digests, feeds, frame_scores, shifts, stories,
                                  theme_events, themes)


def _coverage(start: datetime, end: datetime) -> list:
    return [articles.c.relevant.is_(True), articles.c.duplicate_of.is_(None),
            articles.c.published_at >= start, articles.c.published_at < end]


def _rows(result) -> list[dict]:
    return [dict(row._mapping) for row in result]


# --- headline numbers ---

def window_numbers(conn: Connection, start: datetime, end: datetime) -> dict[str, int]:
    """Articles, outlets, languages, stories and stories first seen inside the window."""
    counts = conn.execute(sa.select(
        sa.func.count().label("articles"),
        sa.func.count(sa.distinct(articles.c.outlet)).label("outlets"),
        sa.func.count(sa.distinct(articles.c.language)).label("languages"),
        sa.func.count(sa.distinct(articles.c.story_id)).label("stories"),
    ).where(*_coverage(start, end))).one()
    new_stories = conn.execute(
        sa.select(sa.func.count()).select_from(stories)
        .where(stories.c.first_seen >= start, stories.c.first_seen < end)).scalar_one()
    return {**{k: int(v) for k, v in counts._mapping.items()}, "new_stories": int(new_stories)}


# --- stories ---

def top_stories(conn: Connection, start: datetime, end: datetime, limit: int = 8) -> list[dict]:
    """Stories covered in the window, widest first: outlets, then languages, then articles.

    Each row carries the story's languages and the URL of its headline article (or, when
    that is unknown, of its first article in the window)."""
    outlets = sa.func.count(sa.distinct(articles.c.outlet)).label("outlets")
    languages = sa.func.count(sa.distinct(articles.c.language)).label("languages")
    count = sa.func.count().label("articles")
    query = (sa.select(stories.c.id, stories.c.headline, stories.c.headline_article_id,
                       stories.c.first_seen, outlets, languages, count)
             .select_from(stories.join(articles, articles.c.story_id == stories.c.id))
             .where(*_coverage(start, end))
             .group_by(stories.c.id, stories.c.headline, stories.c.headline_article_id,
                       stories.c.first_seen)
             .order_by(outlets.desc(), languages.desc(), count.desc(), stories.c.id).limit(limit))
    rows = _rows(conn.execute(query))
    if not rows:
        return rows
    ids = [row["id"] for row in rows]
    in_window = _rows(conn.execute(
        sa.select(articles.c.id, articles.c.story_id, articles.c.url, articles.c.language,
                  articles.c.outlet)
        .where(articles.c.story_id.in_(ids), *_coverage(start, end))
        .order_by(articles.c.published_at, articles.c.id)))
    for row in rows:
        mine = [a for a in in_window if a["story_id"] == row["id"]]
        row["language_codes"] = sorted({a["language"] for a in mine})
        row["outlet_names"] = sorted({a["outlet"] for a in mine})
        headline = next((a for a in mine if a["id"] == row["headline_article_id"] and a["url"]), None)
        first_linked = next((a for a in mine if a["url"]), None)
        row["url"] = (headline or first_linked or {}).get("url") or ""
    return rows


def top_stories_of_day(conn: Connection, start: datetime, end: datetime, limit: int = 5) -> list[dict]:
    """The stories with most articles in a (day) window: the evidence of a spike."""
    count = sa.func.count().label("articles")
    query = (sa.select(stories.c.id, stories.c.headline, count,
                       sa.func.count(sa.distinct(articles.c.outlet)).label("outlets"))
             .select_from(stories.join(articles, articles.c.story_id == stories.c.id))
             .where(*_coverage(start, end)).group_by(stories.c.id, stories.c.headline)
             .order_by(count.desc(), stories.c.id).limit(limit))
    return _rows(conn.execute(query))


# --- themes ---

def theme_counts(conn: Connection, start: datetime, end: datetime) -> dict[str, int]:
    """Coverage per theme id inside the window."""
    query = (sa.select(articles.c.theme_id, sa.func.count())
             .where(*_coverage(start, end), articles.c.theme_id.is_not(None))
             .group_by(articles.c.theme_id))
    return {theme_id: int(n) for theme_id, n in conn.execute(query)}


def theme_rows(conn: Connection, ids: Iterable[str]) -> dict[str, dict]:
    """Theme id -> its label, terms, headlines, status and birth time."""
    ids = list(ids)
    if not ids:
        return {}
    query = sa.select(themes.c.id, themes.c.label, themes.c.terms, themes.c.headlines,
                      themes.c.status, themes.c.born_at).where(themes.c.id.in_(ids))
    return {row["id"]: row for row in _rows(conn.execute(query))}


def themes_born(conn: Connection, start: datetime, end: datetime) -> list[str]:
    """Ids of themes with a birth (or a split that made them) inside the window."""
    query = (sa.select(theme_events.c.theme_id)
             .where(theme_events.c.at >= start, theme_events.c.at < end,
                    theme_events.c.kind.in_(["birth", "split"]))
             .order_by(theme_events.c.at, theme_events.c.id))
    return list(dict.fromkeys(conn.execute(query).scalars()))


# --- framing ---

def shifts_in_periods(conn: Connection, periods: Iterable[str], limit: int = 6) -> list[dict]:
    """Shifts whose period is one of `periods`, largest effect first."""
    query = (sa.select(shifts).where(shifts.c.period.in_(list(periods)))
             .order_by(sa.func.abs(shifts.c.effect).desc(), shifts.c.id).limit(limit))
    return _rows(conn.execute(query))


def article_links(conn: Connection, ids: Iterable[str]) -> list[dict]:
    """Short rows (date, outlet, language, title, url) of the given articles, newest first."""
    return articles_by_id(conn, ids)


def frame_counts_by(conn: Connection, start: datetime, end: datetime, *,
                    by_group: bool, frames: Iterable[str] | None = None) -> list[dict]:
    """Articles carrying each frame inside the window, overall or per source group."""
    scope = articles.c.group_name if by_group else sa.literal("all")
    query = (sa.select(scope.label("scope"), frame_scores.c.frame, sa.func.count().label("articles"))
             .select_from(frame_scores.join(articles, articles.c.id == frame_scores.c.article_id))
             .where(*_coverage(start, end), frame_scores.c.present.is_(True))
             .group_by(scope, frame_scores.c.frame))
    if frames is not None:
        query = query.where(frame_scores.c.frame.in_(list(frames)))
    return _rows(conn.execute(query))


def scored_counts_by(conn: Connection, start: datetime, end: datetime, *, by_group: bool) -> dict[str, int]:
    """Frame-scored articles inside the window (the denominator of frame shares)."""
    scope = articles.c.group_name if by_group else sa.literal("all")
    scored = sa.exists().where(frame_scores.c.article_id == articles.c.id)
    query = sa.select(scope.label("scope"), sa.func.count()).where(*_coverage(start, end), scored) \
        .group_by(scope)
    return {str(s): int(n) for s, n in conn.execute(query)}


# --- rising terms ---

def token_lists(conn: Connection, start: datetime, end: datetime, limit: int = 20000) -> list[list[str]]:
    """Cached tokens of up to `limit` articles of the window, newest first."""
    query = (sa.select(articles.c.tokens).where(*_coverage(start, end), articles.c.tokens.is_not(None))
             .order_by(articles.c.published_at.desc()).limit(limit))
    return [list(tokens) for tokens in conn.execute(query).scalars() if tokens]


# --- daily volume (spike alerts) ---

def published_times(conn: Connection, start: datetime, end: datetime) -> list[datetime]:
    """Publication times of the coverage inside the window (bucketed into local days by the caller)."""
    query = sa.select(articles.c.published_at).where(*_coverage(start, end))
    return list(conn.execute(query).scalars())


# --- feed health ---

def feed_problems(conn: Connection, stale_before: datetime) -> list[dict]:
    """Enabled feeds that fail, are flagged, warn on parsing, or had no success since `stale_before`."""
    failing = sa.or_(feeds.c.consecutive_failures > 0, feeds.c.flagged.is_(True),
                     feeds.c.parse_warning.is_not(None),
                     sa.and_(feeds.c.last_attempt_at.is_not(None),
                             sa.or_(feeds.c.last_success_at.is_(None),
                                    feeds.c.last_success_at < stale_before)))
    query = (sa.select(feeds.c.name, feeds.c.url, feeds.c.consecutive_failures, feeds.c.flagged,
                       feeds.c.last_error_class, feeds.c.last_error, feeds.c.parse_warning,
                       feeds.c.last_success_at, feeds.c.last_attempt_at)
             .where(feeds.c.enabled.is_(True), failing)
             .order_by(feeds.c.flagged.desc(), feeds.c.consecutive_failures.desc(), feeds.c.name))
    return _rows(conn.execute(query))


# --- what was sent ---

def digest_record(conn: Connection, week: str) -> dict | None:
    """The send record of a week's digest, or None when it was never sent."""
    row = conn.execute(sa.select(digests).where(digests.c.week == week)).first()
    return dict(row._mapping) if row else None


def sent_weeks(conn: Connection) -> set[str]:
    return set(conn.execute(sa.select(digests.c.week)).scalars())


def record_digest(conn: Connection, week: str, *, sent_at: datetime, recipients: list[str],
                  message_id: str) -> None:
    """Remember that a week's digest went out (replacing an earlier record on --force)."""
    upsert(conn, digests, [{"week": week, "sent_at": sent_at, "recipients": list(recipients),
                            "message_id": message_id}], ["week"])


def alert_days(conn: Connection, days: Iterable[str]) -> set[str]:
    """Which of `days` (YYYY-MM-DD) already have an alert record."""
    days = list(days)
    if not days:
        return set()
    return set(conn.execute(sa.select(alerts.c.day).where(alerts.c.day.in_(days))).scalars())


def record_alert(conn: Connection, day: str, *, sent_at: datetime, detail: dict) -> None:
    """Remember a spike day, so the same spike never alerts twice."""
    upsert(conn, alerts, [{"day": day, "sent_at": sent_at, "detail": detail}], ["day"])
