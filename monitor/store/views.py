"""Named queries behind the dashboard: every SQL statement its pages need.

Queries aggregate in the database (counts per day, per outlet, per frame) so a page
never pulls 100,000 rows; the dashboard turns days into weeks or months with pandas.
"Coverage" means relevant articles that are not duplicates of another article.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.store import frame_counts
from monitor.store.schema import (annotations, articles, feeds, frame_scores, models, shifts,
                                  stories, theme_events, themes)

SEARCH_LIMIT = 500


@dataclass(frozen=True)
class ArticleFilter:
    """The global filters of the dashboard: a half-open UTC window and optional facets."""

    start: datetime
    end: datetime
    languages: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()

    def previous(self) -> "ArticleFilter":
        """The window of the same length just before this one (same facets)."""
        length = self.end - self.start
        return replace(self, start=self.start - length, end=self.start)

    def last_days(self, days: int) -> "ArticleFilter":
        """The last `days` of this window (the whole window when it is shorter)."""
        return replace(self, start=max(self.start, self.end - timedelta(days=days)))


def _coverage(flt: ArticleFilter, *, relevant: bool = True) -> list:
    """WHERE clauses for the original (non-duplicate) articles inside the filter, relevant
    ones only unless `relevant` is False."""
    clauses = [articles.c.duplicate_of.is_(None)]
    if relevant:
        clauses.append(articles.c.relevant.is_(True))
    clauses += [articles.c.published_at >= flt.start, articles.c.published_at < flt.end]
    if flt.languages:
        clauses.append(articles.c.language.in_(flt.languages))
    if flt.groups:
        clauses.append(articles.c.group_name.in_(flt.groups))
    if flt.outlets:
        clauses.append(articles.c.outlet.in_(flt.outlets))
    return clauses


_day = frame_counts.utc_day


def _facets(flt: ArticleFilter) -> dict[str, tuple[str, ...]]:
    return {"group_name": flt.groups, "language": flt.languages, "outlet": flt.outlets}


def _rows(result) -> list[dict]:
    return [dict(row._mapping) for row in result]


# --- filter choices and key numbers ---

def filter_options(conn: Connection) -> dict:
    """Languages, groups and outlets present in the coverage, and its first and last date
    (one pass over the articles)."""
    rows = conn.execute(
        sa.select(articles.c.language, articles.c.group_name, articles.c.outlet,
                  sa.func.min(articles.c.published_at), sa.func.max(articles.c.published_at))
        .where(articles.c.relevant.is_(True), articles.c.duplicate_of.is_(None))
        .group_by(articles.c.language, articles.c.group_name, articles.c.outlet)).all()
    return {"languages": sorted({r[0] for r in rows if r[0]}), "groups": sorted({r[1] for r in rows if r[1]}),
            "outlets": sorted({r[2] for r in rows if r[2]}),
            "first": min((r[3] for r in rows), default=None), "last": max((r[4] for r in rows), default=None)}


def key_numbers(conn: Connection, flt: ArticleFilter) -> dict:
    """Articles, outlets, languages, stories and new stories inside the window."""
    counts = conn.execute(sa.select(
        sa.func.count().label("articles"),
        sa.func.count(sa.distinct(articles.c.outlet)).label("outlets"),
        sa.func.count(sa.distinct(articles.c.language)).label("languages"),
        sa.func.count(sa.distinct(articles.c.story_id)).label("stories"),
    ).where(*_coverage(flt))).one()
    new_stories = conn.execute(
        sa.select(sa.func.count(sa.distinct(stories.c.id)))
        .select_from(stories.join(articles, articles.c.story_id == stories.c.id))
        .where(stories.c.first_seen >= flt.start, stories.c.first_seen < flt.end, *_coverage(flt))
    ).scalar_one()
    return {**dict(counts._mapping), "new_stories": new_stories}


def failing_feed_count(conn: Connection) -> int:
    """Enabled feeds whose last attempt failed or that are flagged as permanently broken."""
    return conn.execute(sa.select(sa.func.count()).select_from(feeds).where(
        feeds.c.enabled.is_(True),
        sa.or_(feeds.c.consecutive_failures > 0, feeds.c.flagged.is_(True)))).scalar_one()


def daily_volume(conn: Connection, flt: ArticleFilter) -> list[dict]:
    """Coverage per day, source group and language: rows of day, group, language, articles."""
    day = _day(conn, articles.c.published_at).label("day")
    query = (sa.select(day, articles.c.group_name.label("group"), articles.c.language,
                       sa.func.count().label("articles"))
             .where(*_coverage(flt)).group_by(day, articles.c.group_name, articles.c.language)
             .order_by(day))
    return _rows(conn.execute(query))


# --- stories ---

def top_stories(conn: Connection, flt: ArticleFilter, limit: int = 10) -> list[dict]:
    """Stories with coverage in the window, widest first (outlets, then languages, articles)."""
    outlets = sa.func.count(sa.distinct(articles.c.outlet)).label("outlets")
    languages = sa.func.count(sa.distinct(articles.c.language)).label("languages")
    count = sa.func.count().label("articles")
    query = (sa.select(stories.c.id, stories.c.headline, outlets, languages, count,
                       sa.func.min(articles.c.published_at).label("first_seen"),
                       sa.func.max(articles.c.published_at).label("last_seen"))
             .select_from(stories.join(articles, articles.c.story_id == stories.c.id))
             .where(*_coverage(flt)).group_by(stories.c.id, stories.c.headline)
             .order_by(outlets.desc(), languages.desc(), count.desc(), stories.c.id).limit(limit))
    return _rows(conn.execute(query))


def story(conn: Connection, story_id: str) -> dict | None:
    """One story's row, or None."""
    row = conn.execute(sa.select(stories).where(stories.c.id == story_id)).first()
    return dict(row._mapping) if row else None


def story_articles(conn: Connection, story_id: str) -> list[dict]:
    """Every article of a story (duplicates included, marked), oldest first."""
    query = (sa.select(articles.c.id, articles.c.published_at, articles.c.outlet,
                       articles.c.group_name.label("group"), articles.c.language, articles.c.title,
                       articles.c.url, articles.c.duplicate_of)
             .where(articles.c.story_id == story_id).order_by(articles.c.published_at, articles.c.id))
    return _rows(conn.execute(query))


def story_frame_mix(conn: Connection, story_id: str) -> list[dict]:
    """Per outlet of a story: how many of its articles carry each frame, and of how many."""
    carried = (sa.select(articles.c.outlet, articles.c.group_name.label("group"), frame_scores.c.frame,
                         sa.func.count().label("articles"))
               .select_from(frame_scores.join(articles, articles.c.id == frame_scores.c.article_id))
               .where(articles.c.story_id == story_id, articles.c.duplicate_of.is_(None),
                      frame_scores.c.present.is_(True))
               .group_by(articles.c.outlet, articles.c.group_name, frame_scores.c.frame))
    totals = dict(conn.execute(sa.select(articles.c.outlet, sa.func.count())
                               .where(articles.c.story_id == story_id, articles.c.duplicate_of.is_(None))
                               .group_by(articles.c.outlet)).all())
    rows = _rows(conn.execute(carried))
    for row in rows:
        row["outlet_articles"] = totals.get(row["outlet"], 0)
    return rows


# --- themes ---

def theme_list(conn: Connection, flt: ArticleFilter) -> list[dict]:
    """Every theme with its size overall and its coverage inside the window, largest first."""
    in_window = (sa.select(articles.c.theme_id, sa.func.count().label("window_articles"))
                 .where(*_coverage(flt)).group_by(articles.c.theme_id).subquery())
    query = (sa.select(themes.c.id, themes.c.label, themes.c.terms, themes.c.headlines, themes.c.size,
                       themes.c.status, themes.c.born_at, themes.c.retired_at,
                       sa.func.coalesce(in_window.c.window_articles, 0).label("window_articles"))
             .select_from(themes.outerjoin(in_window, in_window.c.theme_id == themes.c.id))
             .order_by(sa.desc("window_articles"), themes.c.size.desc(), themes.c.id))
    return _rows(conn.execute(query))


def theme_terms(conn: Connection) -> set[str]:
    """Every term of every theme and of its label (labels join terms with ' · ')."""
    terms: set[str] = set()
    for label, listed in conn.execute(sa.select(themes.c.label, themes.c.terms)):
        terms.update(listed or [])
        terms.update(part for part in (label or "").split(" · ") if part)
    return terms


def daily_theme_volume(conn: Connection, flt: ArticleFilter) -> list[dict]:
    """Coverage per day and theme: rows of day, theme_id, articles."""
    day = _day(conn, articles.c.published_at).label("day")
    query = (sa.select(day, articles.c.theme_id, sa.func.count().label("articles"))
             .where(*_coverage(flt), articles.c.theme_id.is_not(None))
             .group_by(day, articles.c.theme_id).order_by(day))
    return _rows(conn.execute(query))


def theme_by_group(conn: Connection, flt: ArticleFilter) -> list[dict]:
    """Coverage per theme and source group: rows of theme_id, group, articles."""
    query = (sa.select(articles.c.theme_id, articles.c.group_name.label("group"),
                       sa.func.count().label("articles"))
             .where(*_coverage(flt), articles.c.theme_id.is_not(None))
             .group_by(articles.c.theme_id, articles.c.group_name))
    return _rows(conn.execute(query))


def theme_event_log(conn: Connection) -> list[dict]:
    """Births, merges, splits and retirements of themes, newest first, with labels."""
    query = (sa.select(theme_events.c.at, theme_events.c.kind, theme_events.c.theme_id,
                       themes.c.label, theme_events.c.related)
             .select_from(theme_events.outerjoin(themes, themes.c.id == theme_events.c.theme_id))
             .order_by(theme_events.c.at.desc(), theme_events.c.id.desc()))
    return _rows(conn.execute(query))


# --- framing ---

SCOPE_COLUMNS = {"group": articles.c.group_name, "language": articles.c.language,
                 "outlet": articles.c.outlet}


def daily_frame_counts(conn: Connection, flt: ArticleFilter, scope_kind: str | None = None) -> list[dict]:
    """Articles carrying each frame per day (and per group/language/outlet when asked)."""
    if frame_counts.can_answer(conn, flt.start, flt.end):
        return frame_counts.frame_counts(conn, flt.start, flt.end, _facets(flt), _scope_column(scope_kind))
    day = _day(conn, articles.c.published_at).label("day")
    scope = _scope(scope_kind)
    query = (sa.select(day, scope, frame_scores.c.frame, sa.func.count().label("articles"))
             .select_from(frame_scores.join(articles, articles.c.id == frame_scores.c.article_id))
             .where(*_coverage(flt), frame_scores.c.present.is_(True))
             .group_by(day, scope, frame_scores.c.frame))
    return _rows(conn.execute(query))


def daily_scored_counts(conn: Connection, flt: ArticleFilter, scope_kind: str | None = None) -> list[dict]:
    """Articles that were frame-scored per day (and scope): the denominator of frame shares."""
    if frame_counts.can_answer(conn, flt.start, flt.end):
        return frame_counts.scored_counts(conn, flt.start, flt.end, _facets(flt), _scope_column(scope_kind))
    day = _day(conn, articles.c.published_at).label("day")
    scope = _scope(scope_kind)
    scored = sa.exists().where(frame_scores.c.article_id == articles.c.id)
    query = (sa.select(day, scope, sa.func.count().label("articles"))
             .where(*_coverage(flt), scored).group_by(day, scope))
    return _rows(conn.execute(query))


def _scope_column(scope_kind: str | None) -> str | None:
    return None if scope_kind is None else SCOPE_COLUMNS[scope_kind].name


def _scope(scope_kind: str | None):
    if scope_kind is None:
        return sa.literal("all").label("scope")
    return SCOPE_COLUMNS[scope_kind].label("scope")


def token_lists(conn: Connection, flt: ArticleFilter, limit: int = 5000) -> list[list[str]]:
    """The cached tokens of up to `limit` articles of the window (newest first)."""
    query = (sa.select(articles.c.tokens).where(*_coverage(flt), articles.c.tokens.is_not(None))
             .order_by(articles.c.published_at.desc()).limit(limit))
    return [list(tokens) for tokens in conn.execute(query).scalars() if tokens]


def window_texts(conn: Connection, flt: ArticleFilter, limit: int = 1000) -> list[tuple[str, str]]:
    """(title and summary, language) of up to `limit` newest articles of the window."""
    query = (sa.select(articles.c.title, articles.c.summary, articles.c.language).where(*_coverage(flt))
             .order_by(articles.c.published_at.desc()).limit(limit))
    return [(f"{title} {summary}", language) for title, summary, language in conn.execute(query)]


def theme_texts(conn: Connection, limit: int = 2000) -> list[tuple[str, str]]:
    """(title and summary, language) of up to `limit` newest articles that have a theme."""
    query = (sa.select(articles.c.title, articles.c.summary, articles.c.language)
             .where(articles.c.theme_id.is_not(None), articles.c.duplicate_of.is_(None))
             .order_by(articles.c.published_at.desc()).limit(limit))
    return [(f"{title} {summary}", language) for title, summary, language in conn.execute(query)]


def shift_list(conn: Connection) -> list[dict]:
    """Every detected shift, largest effect first."""
    query = sa.select(shifts).order_by(sa.func.abs(shifts.c.effect).desc(), shifts.c.id)
    return _rows(conn.execute(query))


def articles_by_id(conn: Connection, ids: Iterable[str]) -> list[dict]:
    """Short rows (date, outlet, language, title, url) of the given articles, newest first."""
    ids = list(ids)
    if not ids:
        return []
    query = (sa.select(articles.c.id, articles.c.published_at, articles.c.outlet,
                       articles.c.group_name.label("group"), articles.c.language, articles.c.title,
                       articles.c.url)
             .where(articles.c.id.in_(ids)).order_by(articles.c.published_at.desc(), articles.c.id))
    return _rows(conn.execute(query))


# --- sources ---

def outlet_volume(conn: Connection, flt: ArticleFilter) -> list[dict]:
    """Per outlet: its group, languages, coverage in the window and last article."""
    query = (sa.select(articles.c.outlet, articles.c.group_name.label("group"),
                       sa.func.count().label("articles"),
                       sa.func.count(sa.distinct(articles.c.language)).label("languages"),
                       sa.func.count(sa.distinct(articles.c.story_id)).label("stories"),
                       sa.func.max(articles.c.published_at).label("last_article"))
             .where(*_coverage(flt)).group_by(articles.c.outlet, articles.c.group_name)
             .order_by(sa.desc("articles"), articles.c.outlet))
    return _rows(conn.execute(query))


def outlet_frame_counts(conn: Connection, flt: ArticleFilter) -> list[dict]:
    """Per outlet and frame: articles of the window carrying the frame."""
    if frame_counts.can_answer(conn, flt.start, flt.end):
        rows = frame_counts.frame_counts(conn, flt.start, flt.end, _facets(flt), "outlet", by_day=False)
        return [{"outlet": row["scope"], "frame": row["frame"], "articles": row["articles"]} for row in rows]
    query = (sa.select(articles.c.outlet, frame_scores.c.frame, sa.func.count().label("articles"))
             .select_from(frame_scores.join(articles, articles.c.id == frame_scores.c.article_id))
             .where(*_coverage(flt), frame_scores.c.present.is_(True))
             .group_by(articles.c.outlet, frame_scores.c.frame))
    return _rows(conn.execute(query))


# --- articles ---

def search_articles(conn: Connection, flt: ArticleFilter, text: str = "", *, relevant_only: bool = True,
                    limit: int = SEARCH_LIMIT) -> tuple[list[dict], int]:
    """Articles of the window whose title or summary contains `text` (any case), newest
    first, at most `limit` of them; also returns how many matched in all."""
    clauses = _coverage(flt, relevant=relevant_only)
    if text.strip():
        needle = text.strip()
        clauses.append(sa.or_(articles.c.title.icontains(needle, autoescape=True),
                              articles.c.summary.icontains(needle, autoescape=True)))
    total = conn.execute(sa.select(sa.func.count()).select_from(articles).where(*clauses)).scalar_one()
    query = (sa.select(articles.c.id, articles.c.published_at, articles.c.outlet,
                       articles.c.group_name.label("group"), articles.c.language, articles.c.title,
                       articles.c.url, articles.c.relevance_score, articles.c.story_id,
                       articles.c.theme_id)
             .where(*clauses).order_by(articles.c.published_at.desc(), articles.c.id).limit(limit))
    return _rows(conn.execute(query)), total


def article_detail(conn: Connection, article_id: str) -> dict | None:
    """One article with its story headline, theme label, frame scores and annotations."""
    query = (sa.select(articles.c.id, articles.c.url, articles.c.title, articles.c.summary,
                       articles.c.published_at, articles.c.date_flag, articles.c.outlet,
                       articles.c.group_name.label("group"), articles.c.language, articles.c.feed,
                       articles.c.author, articles.c.relevant, articles.c.relevance_score,
                       articles.c.relevance_reason, articles.c.duplicate_of, articles.c.story_id,
                       stories.c.headline.label("story_headline"), articles.c.theme_id,
                       themes.c.label.label("theme_label"))
             .select_from(articles.outerjoin(stories, stories.c.id == articles.c.story_id)
                          .outerjoin(themes, themes.c.id == articles.c.theme_id))
             .where(articles.c.id == article_id))
    row = conn.execute(query).first()
    if row is None:
        return None
    detail = dict(row._mapping)
    detail["frames"] = _rows(conn.execute(
        sa.select(frame_scores.c.frame, frame_scores.c.score, frame_scores.c.present,
                  frame_scores.c.source, frame_scores.c.evidence)
        .where(frame_scores.c.article_id == article_id).order_by(frame_scores.c.score.desc())))
    detail["annotations"] = annotations_of(conn, article_id)
    return detail


# --- annotation ---

def add_annotation(conn: Connection, article_id: str, kind: str, value, annotator: str) -> int:
    """Record one label (kind 'relevance' or 'frames') made by `annotator`; return its id."""
    if kind not in ("relevance", "frames"):
        raise ValueError(f"unknown annotation kind {kind!r}")
    result = conn.execute(annotations.insert().values(
        article_id=article_id, kind=kind, value=value, annotator=annotator))
    return int(result.inserted_primary_key[0])


def annotations_of(conn: Connection, article_id: str) -> list[dict]:
    query = (sa.select(annotations.c.kind, annotations.c.value, annotations.c.annotator,
                       annotations.c.created_at)
             .where(annotations.c.article_id == article_id).order_by(annotations.c.id))
    return _rows(conn.execute(query))


def annotation_counts(conn: Connection) -> dict[str, int]:
    """Labelled articles per kind (an article labelled twice counts once)."""
    query = (sa.select(annotations.c.kind, sa.func.count(sa.distinct(annotations.c.article_id)))
             .group_by(annotations.c.kind))
    return {kind: count for kind, count in conn.execute(query)}


def articles_to_annotate(conn: Connection, flt: ArticleFilter, kind: str, threshold: float,
                         limit: int = 20) -> list[dict]:
    """Articles without a label of `kind`, the most uncertain first: relevance scores
    nearest the threshold teach a classifier the most."""
    labelled = sa.exists().where(annotations.c.article_id == articles.c.id, annotations.c.kind == kind)
    clauses = [*_coverage(flt, relevant=kind == "frames"), ~labelled]
    uncertainty = sa.func.abs(sa.func.coalesce(articles.c.relevance_score, 0.0) - threshold)
    query = (sa.select(articles.c.id, articles.c.published_at, articles.c.outlet, articles.c.language,
                       articles.c.title, articles.c.summary, articles.c.url, articles.c.relevant,
                       articles.c.relevance_score)
             .where(*clauses).order_by(uncertainty, articles.c.id).limit(limit))
    return _rows(conn.execute(query))


def model_metrics(conn: Connection) -> list[dict]:
    """Every trained model's name, stored quality metrics and training time."""
    query = sa.select(models.c.name, models.c.metrics, models.c.trained_at).order_by(models.c.name)
    return _rows(conn.execute(query))

