"""Named queries of the framing job and the dashboard: frame scores, shifts, models, mixes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.models import FrameScore, Shift
from monitor.store.analysis import execute_plain
from monitor.store.db import chunks, upsert
from monitor.store.frame_counts import utc_day
from monitor.store.schema import annotations, articles, frame_scores, models, shifts


def _scorable():
    return sa.and_(articles.c.relevant.is_(True), articles.c.duplicate_of.is_(None))


def articles_to_score(conn: Connection, *, full: bool = False) -> list[sa.Row]:
    """Relevant, non-duplicate articles; only those without frame scores unless `full`.

    With their cached tokens as JSON text (tokens_json, tokens_version): decoded only where
    used, and cheaper to hand to worker processes than lists of strings. In id order: their
    scores then go into frame_scores' primary key index in order, which at 100,000 articles
    took SQLite half the CPU of inserting them in publication order."""
    query = sa.select(articles.c.id, articles.c.title, articles.c.summary, articles.c.fulltext,
                      articles.c.language, sa.cast(articles.c.tokens, sa.Text).label("tokens_json"),
                      articles.c.tokens_version, articles.c.published_at).where(_scorable())
    if not full:
        scored = sa.select(frame_scores.c.article_id).distinct()
        query = query.where(articles.c.id.not_in(scored))
    return list(conn.execute(query.order_by(articles.c.id)))


def clear_frame_scores(conn: Connection, article_ids: Sequence[str] | None = None) -> int:
    """Delete the scores of these articles (all scores when None); return how many."""
    if article_ids is None:
        return conn.execute(frame_scores.delete()).rowcount or 0
    return sum(conn.execute(frame_scores.delete().where(frame_scores.c.article_id.in_(chunk))).rowcount or 0
               for chunk in chunks(list(article_ids)))


def unscorable_scored(conn: Connection) -> dict[str, str]:
    """Articles with scores that are no longer relevant or now marked duplicates -> their UTC
    day (those days' counts change). One pass over the articles finds both what to delete
    and where counts change; usually nothing, and then nothing is deleted."""
    day = utc_day(conn, articles.c.published_at)
    query = (sa.select(articles.c.id, day)
             .where(sa.not_(_scorable()), sa.exists().where(frame_scores.c.article_id == articles.c.id)))
    return dict(conn.execute(query).all())


SCORE_COLUMNS = ("article_id", "frame", "score", "present", "source", "evidence")
# One frame_scores row as the driver takes it, in SCORE_COLUMNS order (evidence as JSON text).
ScoreRow = tuple[str, str, float, bool, str, str]


def _evidence_json(evidence: Sequence[str]) -> str:
    # The text the column's JSON type writes (json.dumps). Most scores have no evidence, and
    # encoding their empty lists cost more than inserting the rows.
    return json.dumps(list(evidence)) if evidence else "[]"


def score_rows(scores: Iterable[FrameScore]) -> list[ScoreRow]:
    """The driver rows of these scores: cheap to pickle, so worker processes build them."""
    return [(s.article_id, s.frame, float(s.score), bool(s.present), s.source, _evidence_json(s.evidence))
            for s in scores]


def save_frame_scores(conn: Connection, scores: Iterable[FrameScore]) -> int:
    """Insert or replace scores."""
    return save_score_rows(conn, score_rows(scores))


def save_score_rows(conn: Connection, rows: Sequence[ScoreRow]) -> int:
    """Insert or replace scores given as driver rows (a full run writes one row per article
    and frame: 770,000 at 100,000 articles)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(frame_scores)
    stmt = stmt.on_conflict_do_update(index_elements=["article_id", "frame"],
                                      set_={c: stmt.excluded[c] for c in SCORE_COLUMNS[2:]})
    execute_plain(conn, stmt, rows, SCORE_COLUMNS)
    return len(rows)


SCOPE_COLUMNS = {"group": articles.c.group_name, "language": articles.c.language,
                 "outlet": articles.c.outlet}


def frame_observations(conn: Connection, frames: Sequence[str] | None = None, *,
                       scope: tuple[str, str] | None = None,
                       between: tuple[datetime, datetime] | None = None) -> pd.DataFrame:
    """One row per scored (article, frame) with date, group, language, outlet: series input.

    `scope` (kind, value) keeps one group, language or outlet ("all" keeps everything);
    `between` keeps articles published in [start, end): what a shift's evidence needs."""
    query = (sa.select(frame_scores.c.article_id, articles.c.published_at,
                       articles.c.group_name.label("group"), articles.c.language, articles.c.outlet,
                       frame_scores.c.frame, frame_scores.c.score, frame_scores.c.present)
             .join(articles, articles.c.id == frame_scores.c.article_id).where(_scorable()))
    if frames is not None:
        query = query.where(frame_scores.c.frame.in_(list(frames)))
    if scope is not None and scope[0] in SCOPE_COLUMNS:
        query = query.where(SCOPE_COLUMNS[scope[0]] == scope[1])
    if between is not None:
        query = query.where(articles.c.published_at >= between[0], articles.c.published_at < between[1])
    rows = conn.execute(query).all()
    columns = ["article_id", "published_at", "group", "language", "outlet", "frame", "score", "present"]
    data = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    data["present"] = data["present"].astype(bool)
    return data


def replace_shifts(conn: Connection, found: Iterable[Shift]) -> int:
    """Shifts are recomputed from the whole series each run: replace them all."""
    conn.execute(shifts.delete())
    rows = [{"frame": s.frame, "scope_kind": s.scope_kind, "scope": s.scope, "period": s.period,
             "method": s.method, "share": s.share, "baseline_share": s.baseline_share,
             "effect": s.effect, "ci_low": s.ci_low, "ci_high": s.ci_high, "p_value": s.p_value,
             "n": s.n, "evidence": list(s.evidence)} for s in found]
    if rows:
        conn.execute(shifts.insert(), rows)
    return len(rows)


def list_shifts(conn: Connection, *, limit: int | None = None, scope_kind: str | None = None,
                frame: str | None = None) -> list[dict]:
    """Stored shifts, strongest first: by the interval bound nearest zero (analyze.shifts.strength)."""
    strength = sa.case((shifts.c.effect > 0, shifts.c.ci_low), else_=-shifts.c.ci_high)
    query = sa.select(shifts).order_by(strength.desc(), shifts.c.id)
    if scope_kind:
        query = query.where(shifts.c.scope_kind == scope_kind)
    if frame:
        query = query.where(shifts.c.frame == frame)
    if limit:
        query = query.limit(limit)
    return [dict(row._mapping) for row in conn.execute(query)]


def story_frame_mix(conn: Connection, story_id: str, *, by: str = "outlet") -> pd.DataFrame:
    """Same event, different frames: for one story, the share of articles carrying each frame
    per outlet (or group), with the article count behind each share."""
    column = {"outlet": articles.c.outlet, "group": articles.c.group_name}[by]
    query = (sa.select(column.label(by), frame_scores.c.frame,
                       sa.func.count().label("n"),
                       sa.func.sum(sa.case((frame_scores.c.present.is_(True), 1), else_=0)).label("k"),
                       sa.func.avg(frame_scores.c.score).label("mean_score"))
             .join(articles, articles.c.id == frame_scores.c.article_id)
             .where(articles.c.story_id == story_id).where(_scorable())
             .group_by(column, frame_scores.c.frame).order_by(column, frame_scores.c.frame))
    data = pd.DataFrame([tuple(r) for r in conn.execute(query)], columns=[by, "frame", "n", "k", "mean_score"])
    data["share"] = data["k"] / data["n"]
    return data


def save_model(conn: Connection, name: str, blob: bytes, metrics: dict) -> None:
    upsert(conn, models, [{"name": name, "blob": blob, "metrics": metrics,
                           "trained_at": pd.Timestamp.now(tz="UTC").to_pydatetime()}], ["name"])


def load_model(conn: Connection, name: str) -> bytes | None:
    return conn.execute(sa.select(models.c.blob).where(models.c.name == name)).scalar()


def frame_labels(conn: Connection) -> list[dict]:
    """Frame labels made in the dashboard (annotations of kind "frames"), latest per article."""
    query = (sa.select(annotations.c.article_id, annotations.c.value, articles.c.title,
                       articles.c.summary, articles.c.fulltext, articles.c.language)
             .join(articles, articles.c.id == annotations.c.article_id)
             .where(annotations.c.kind == "frames").order_by(annotations.c.created_at, annotations.c.id))
    latest = {row.article_id: row for row in conn.execute(query)}
    return [{"id": r.article_id, "title": r.title, "text": r.fulltext or r.summary,
             "language": r.language, "frames": list(r.value or [])} for r in latest.values()]
