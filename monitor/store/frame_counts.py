"""Per-day frame counts: the aggregate behind the dashboard's frame shares.

Joining every frame score to its article on each page view costs seconds at 100,000
articles; the framing job instead rebuilds two small tables after each run (relevant
original articles per day x group x language x outlet: how many carry each frame, how
many were scored), and the dashboard sums their rows. The numbers are those of the join
as of the last analysis; a window that does not start and end at midnight UTC, or a
database not yet analysed since these tables existed, is answered by the join itself.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, time, timedelta, timezone

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.store.schema import articles, frame_day_counts, frame_scores, scored_day_counts

FACETS = ("group_name", "language", "outlet")


def utc_day(conn: Connection, column) -> sa.ColumnElement:
    """The UTC calendar day of a timestamp as 'YYYY-MM-DD', computed by the database."""
    if conn.dialect.name == "postgresql":
        return sa.func.to_char(column, "YYYY-MM-DD")
    return sa.func.substr(column, 1, 10)   # SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff'


def _counted():
    """The articles the dashboard's frame shares count: relevant originals."""
    return sa.and_(articles.c.relevant.is_(True), articles.c.duplicate_of.is_(None))


def _on_days(conn: Connection, days: Collection[str]) -> list:
    """Articles published on these UTC days (the range lets the database use its index)."""
    first, last = min(days), max(days)
    start = datetime.fromisoformat(first).replace(tzinfo=timezone.utc)
    end = datetime.fromisoformat(last).replace(tzinfo=timezone.utc) + timedelta(days=1)
    return [articles.c.published_at >= start, articles.c.published_at < end,
            utc_day(conn, articles.c.published_at).in_(sorted(days))]


def is_built(conn: Connection) -> bool:
    """Whether the tables were filled since frames were last scored (see can_answer)."""
    return conn.execute(sa.select(scored_day_counts.c.day).limit(1)).first() is not None


def refresh_frame_counts(conn: Connection, days: Collection[str] | None = None) -> int:
    """Rebuild both tables from the frame scores in one pass each; return the rows written.

    `days` (UTC, YYYY-MM-DD): rebuild only these, the days whose frame scores changed. An
    article's day and facets never change after ingest, so the other days' rows stand."""
    if days is not None and not days:
        return _rows(conn)
    day = utc_day(conn, articles.c.published_at)
    on_days = _on_days(conn, days) if days is not None else []
    if days is None:
        conn.execute(frame_day_counts.delete())
        conn.execute(scored_day_counts.delete())
    else:
        for table in (frame_day_counts, scored_day_counts):
            conn.execute(table.delete().where(table.c.day.in_(sorted(days))))
    keys = [day, articles.c.group_name, articles.c.language, articles.c.outlet]
    carried = (sa.select(*keys, frame_scores.c.frame, sa.func.count())
               .select_from(frame_scores.join(articles, articles.c.id == frame_scores.c.article_id))
               .where(_counted(), frame_scores.c.present.is_(True), *on_days)
               .group_by(*keys, frame_scores.c.frame))
    conn.execute(frame_day_counts.insert().from_select(
        ["day", *FACETS, "frame", "articles"], carried))
    scored = (sa.select(*keys, sa.func.count())
              .where(_counted(), sa.exists().where(frame_scores.c.article_id == articles.c.id), *on_days)
              .group_by(*keys))
    conn.execute(scored_day_counts.insert().from_select(["day", *FACETS, "articles"], scored))
    return _rows(conn)


def _rows(conn: Connection) -> int:
    return sum(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
               for table in (frame_day_counts, scored_day_counts))


def day_counts(conn: Connection, frames: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per day x group x language x outlet, from the two tables as last rebuilt: n articles
    scored, and k carrying each frame of `frames` where k > 0 (shifts.DayCounts)."""
    scored = pd.DataFrame([tuple(r) for r in conn.execute(sa.select(
        scored_day_counts.c.day, *[scored_day_counts.c[f] for f in FACETS], scored_day_counts.c.articles))],
        columns=["day", "group", "language", "outlet", "n"])
    carried = pd.DataFrame([tuple(r) for r in conn.execute(
        sa.select(frame_day_counts.c.day, *[frame_day_counts.c[f] for f in FACETS],
                  frame_day_counts.c.frame, frame_day_counts.c.articles)
        .where(frame_day_counts.c.frame.in_(list(frames))))],
        columns=["day", "group", "language", "outlet", "frame", "k"])
    return scored, carried


def _midnight(moment: datetime) -> bool:
    return moment.timetz().replace(tzinfo=None) == time.min


def can_answer(conn: Connection, start: datetime, end: datetime) -> bool:
    """Whole UTC days, and tables that were filled (an empty table means never built, or
    nothing scored, where the join is instant anyway)."""
    if not (_midnight(start) and _midnight(end)):
        return False
    return is_built(conn)


def _where(table: sa.Table, start: datetime, end: datetime, facets: dict[str, tuple[str, ...]]) -> list:
    clauses = [table.c.day >= start.date().isoformat(), table.c.day < end.date().isoformat()]
    clauses += [table.c[name].in_(values) for name, values in facets.items() if values]
    return clauses


def _scope(table: sa.Table, scope_column: str | None):
    return sa.literal("all").label("scope") if scope_column is None else table.c[scope_column].label("scope")


def frame_counts(conn: Connection, start: datetime, end: datetime, facets: dict[str, tuple[str, ...]],
                 scope_column: str | None, by_day: bool = True) -> list[dict]:
    """Articles carrying each frame per day (unless not `by_day`) and scope column
    (group_name, language or outlet; None for all): rows of [day,] scope, frame, articles."""
    table = frame_day_counts
    keys = ([table.c.day] if by_day else []) + [_scope(table, scope_column), table.c.frame]
    query = (sa.select(*keys, sa.func.sum(table.c.articles).label("articles"))
             .where(*_where(table, start, end, facets)).group_by(*keys))
    return [{**row._mapping, "articles": int(row.articles)} for row in conn.execute(query)]


def scored_counts(conn: Connection, start: datetime, end: datetime, facets: dict[str, tuple[str, ...]],
                  scope_column: str | None) -> list[dict]:
    """Articles frame-scored per day and scope: rows of day, scope, articles."""
    table = scored_day_counts
    keys = [table.c.day, _scope(table, scope_column)]
    query = (sa.select(*keys, sa.func.sum(table.c.articles).label("articles"))
             .where(*_where(table, start, end, facets)).group_by(*keys))
    return [{**row._mapping, "articles": int(row.articles)} for row in conn.execute(query)]
