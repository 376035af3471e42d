"""The pages' data: cached wrappers over monitor.store.views, shaped for charts and tables.

Every wrapper takes the database URL as its first argument so two databases never share
a cache entry, and every cache has a ttl: new fetches show up within a minute, while a
rerun (a click, a filter change back) is served from memory.
"""

from __future__ import annotations

import getpass
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
import streamlit as st

from monitor.config import ENV_CONFIG, ENV_DB_URL, Settings, load_settings
from monitor.dashboard import shape, words
from monitor.store import open_engine, views
from monitor.store.feeds import feed_health
from monitor.store.views import ArticleFilter

TTL = 60          # seconds a query result is reused
MAX_ENTRIES = 64  # per function: many filter combinations must not grow memory without bound


@st.cache_resource
def _settings(config_path: str) -> Settings | None:
    return load_settings(config_path) if config_path and Path(config_path).is_file() else None


def settings() -> Settings | None:
    """The monitor's settings when MONITOR_CONFIG names a readable feeds.yaml."""
    return _settings(os.environ.get(ENV_CONFIG, ""))


def db_url() -> str:
    """MONITOR_DB_URL, else the database of the configured feeds.yaml."""
    url = os.environ.get(ENV_DB_URL)
    if url:
        return url
    found = settings()
    if found is None:
        raise RuntimeError(f"set {ENV_DB_URL} or {ENV_CONFIG} (use `monitor dashboard`)")
    return found.database_url()


@st.cache_resource
def engine(url: str):
    """One pooled engine per database URL for the whole server."""
    found = open_engine(url)
    if found.dialect.name == "sqlite":
        sa.event.listen(found, "connect", _unicode_lower)
        found.dispose()   # connections opened while migrating lack the function
    return found


def _unicode_lower(dbapi_conn, _record) -> None:
    """SQLite's lower() folds ASCII only; search must find 'Социальный' for 'социальный'."""
    dbapi_conn.create_function("lower", 1, lambda text: text.lower() if isinstance(text, str) else text,
                               deterministic=True)


def _read(url: str, query, *args, **kwargs):
    with engine(url).connect() as conn:
        return query(conn, *args, **kwargs)


def _read_together(url: str, *calls: tuple) -> list:
    """Run independent queries at once, each on its own pooled connection: the database
    works on both while Python waits, which halves a page's wait on two cores."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(_read, url, *call) for call in calls]
        return [future.result() for future in futures]


def frame_labels() -> dict[str, str]:
    """Frame id -> label from the configured codebook (ids shown as-is without a config)."""
    return _frame_labels(os.environ.get(ENV_CONFIG, ""))


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES)
def _frame_labels(config_path: str) -> dict[str, str]:
    # Reading a codebook takes ~0.1 s: once per minute, not once per row of a table.
    found = settings()
    if found is None:
        return {}
    from monitor.analyze.codebook import codebook_for
    return {frame.id: frame.label or frame.id for frame in codebook_for(found.frames).frames}


def threshold() -> float:
    found = settings()
    return found.topic.threshold if found else 0.5


# --- filters and overview ---

@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES)
def filter_options(url: str) -> dict:
    return _read(url, views.filter_options)


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES)
def key_numbers(url: str, flt: ArticleFilter) -> dict:
    return _read(url, views.key_numbers, flt)


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES)
def failing_feeds(url: str) -> int:
    return _read(url, views.failing_feed_count)


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES)
def volume(url: str, flt: ArticleFilter, period: str) -> pd.DataFrame:
    """Articles per period, group and language."""
    return shape.by_period(_read(url, views.daily_volume, flt), period, ["group", "language"])


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES)
def top_stories(url: str, flt: ArticleFilter, limit: int = 10) -> pd.DataFrame:
    return pd.DataFrame(_read(url, views.top_stories, flt, limit),
                        columns=["id", "headline", "outlets", "languages", "articles",
                                 "first_seen", "last_seen"])


# --- stories ---

@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES)
def story(url: str, story_id: str) -> dict | None:
    found = _read(url, views.story, story_id)
    if found is None:
        return None
    articles = pd.DataFrame(_read(url, views.story_articles, story_id),
                            columns=["id", "published_at", "outlet", "group", "language", "title",
                                     "url", "duplicate_of"])
    mix = pd.DataFrame(_read(url, views.story_frame_mix, story_id),
                       columns=["outlet", "group", "frame", "articles", "outlet_articles"])
    mix["share"] = mix["articles"] / mix["outlet_articles"].where(mix["outlet_articles"] > 0)
    labels = frame_labels()
    mix["label"] = mix["frame"].map(lambda f: labels.get(f, f))
    return {**found, "articles": articles, "frame_mix": mix}


# --- themes ---

@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES)
def themes(url: str, flt: ArticleFilter) -> pd.DataFrame:
    """Every theme, its label and terms in words rather than stems."""
    frame = pd.DataFrame(_read(url, views.theme_list, flt),
                         columns=["id", "label", "terms", "headlines", "size", "status", "born_at",
                                  "retired_at", "window_articles"])
    forms = theme_words(url)
    frame["label"] = frame["label"].map(lambda label: words.readable_label(label or "", forms))
    frame["terms"] = frame["terms"].map(lambda terms: [words.readable(t, forms) for t in terms or []])
    return frame


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES)
def theme_words(url: str) -> dict[str, str]:
    """Stem -> word for every term of every theme (see monitor.dashboard.words)."""
    terms, texts = _read_together(url, (views.theme_terms,), (views.theme_texts,))
    return words.surface_forms({stem for term in terms for stem in term.split(" ")}, texts)


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES)
def theme_prevalence(url: str, flt: ArticleFilter, period: str) -> pd.DataFrame:
    """Articles per period and theme, with the theme's share of that period's coverage."""
    by_theme, by_day = _read_together(url, (views.daily_theme_volume, flt), (views.daily_volume, flt))
    counts = shape.by_period(by_theme, period, ["theme_id"])
    totals = shape.by_period(by_day, period, [])
    counts = counts.merge(totals.rename(columns={"articles": "total"}), on="period", how="left")
    counts["share"] = counts["articles"] / counts["total"]
    labels = dict(zip(themes(url, flt)["id"], themes(url, flt)["label"]))
    counts["label"] = counts["theme_id"].map(lambda t: labels.get(t, t))
    return counts


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES)
def theme_by_group(url: str, flt: ArticleFilter) -> pd.DataFrame:
    """Per theme and group: the share of the group's themed coverage the theme has."""
    frame = pd.DataFrame(_read(url, views.theme_by_group, flt), columns=["theme_id", "group", "articles"])
    frame["share"] = frame["articles"] / frame.groupby("group")["articles"].transform("sum")
    labels = dict(zip(themes(url, flt)["id"], themes(url, flt)["label"]))
    frame["label"] = frame["theme_id"].map(lambda t: labels.get(t, t))
    return frame


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES)
def theme_events(url: str) -> pd.DataFrame:
    frame = pd.DataFrame(_read(url, views.theme_event_log), columns=["at", "kind", "theme_id", "label", "related"])
    frame["label"] = frame["label"].map(lambda label: words.readable_label(label or "", theme_words(url)))
    return frame


# --- framing ---

@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES)
def frame_shares(url: str, flt: ArticleFilter, period: str, scope_kind: str | None = None) -> pd.DataFrame:
    """Frame shares per period (and group/language/outlet) with 95% intervals."""
    carried, scored = _read_together(url, (views.daily_frame_counts, flt, scope_kind),
                                     (views.daily_scored_counts, flt, scope_kind))
    return shape.frame_shares(carried, scored, period, frame_labels())


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES)
def shifts(url: str, flt: ArticleFilter) -> pd.DataFrame:
    """Detected shifts whose period starts inside the window, largest effect first."""
    columns = ["id", "frame", "label", "scope_kind", "scope", "period", "method", "share",
               "baseline_share", "effect", "ci_low", "ci_high", "p_value", "n", "evidence"]
    rows = [row for row in _read(url, views.shift_list)
            if (start := shape.period_start(row["period"])) is not None and flt.start <= start < flt.end
            and _shift_in_facets(row, flt)]
    frame = pd.DataFrame(rows, columns=[c for c in columns if c != "label"])
    labels = frame_labels()
    frame.insert(2, "label", frame["frame"].map(lambda f: labels.get(f, f)))
    return frame


def _shift_in_facets(row: dict, flt: ArticleFilter) -> bool:
    """A shift of a group, language or outlet shows only when the filters keep that scope."""
    chosen = {"group": flt.groups, "language": flt.languages, "outlet": flt.outlets}.get(row["scope_kind"])
    return not chosen or row["scope"] in chosen


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES)
def articles_by_id(url: str, ids: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(_read(url, views.articles_by_id, ids),
                        columns=["id", "published_at", "outlet", "group", "language", "title", "url"])


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES)
def distinctive_terms(url: str, first: ArticleFilter, second: ArticleFilter, top: int = 15) -> pd.DataFrame:
    """Terms most distinctive of `first` (z > 0) against `second` (z < 0)."""
    lists_a, lists_b, texts_a, texts_b = _read_together(
        url, (views.token_lists, first), (views.token_lists, second),
        (views.window_texts, first), (views.window_texts, second))
    counts_a = Counter(t for tokens in lists_a for t in tokens)
    counts_b = Counter(t for tokens in lists_b for t in tokens)
    terms = shape.distinctive(counts_a, counts_b, top)
    stems = {stem for term in terms["term"] for stem in term.split(" ")}
    forms = words.surface_forms(stems, texts_a + texts_b)
    return terms.assign(term=terms["term"].map(lambda term: words.readable(term, forms)))


# --- sources ---

@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES)
def outlets(url: str, flt: ArticleFilter) -> pd.DataFrame:
    return pd.DataFrame(_read(url, views.outlet_volume, flt),
                        columns=["outlet", "group", "articles", "languages", "stories", "last_article"])


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES)
def outlet_frames(url: str, flt: ArticleFilter) -> pd.DataFrame:
    totals = dict(zip(outlets(url, flt)["outlet"], outlets(url, flt)["articles"]))
    profile = shape.frame_profile(_read(url, views.outlet_frame_counts, flt), totals)
    labels = frame_labels()
    profile["label"] = profile["frame"].map(lambda f: labels.get(f, f))
    return profile


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES)
def feeds(url: str) -> pd.DataFrame:
    return pd.DataFrame(_read(url, feed_health),
                        columns=["name", "url", "config_url", "last_attempt_at", "last_success_at",
                                 "last_status", "consecutive_failures", "flagged", "last_error_class",
                                 "last_error", "parse_warning", "next_due_at", "poll_interval_s",
                                 "entries_per_day"])


# --- articles and annotation ---

@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES)
def search(url: str, flt: ArticleFilter, text: str, relevant_only: bool) -> tuple[pd.DataFrame, int]:
    rows, total = _read(url, views.search_articles, flt, text, relevant_only=relevant_only)
    return pd.DataFrame(rows, columns=["id", "published_at", "outlet", "group", "language", "title",
                                       "url", "relevance_score", "story_id", "theme_id"]), total


def article(url: str, article_id: str) -> dict | None:
    """Not cached: the Annotate page shows a label the moment it is saved."""
    return _read(url, views.article_detail, article_id)


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES)
def to_annotate(url: str, flt: ArticleFilter, kind: str, limit: int = 20) -> pd.DataFrame:
    return pd.DataFrame(_read(url, views.articles_to_annotate, flt, kind, threshold(), limit),
                        columns=["id", "published_at", "outlet", "language", "title", "summary", "url",
                                 "relevant", "relevance_score"])


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES)
def annotation_counts(url: str) -> dict[str, int]:
    return _read(url, views.annotation_counts)


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES)
def model_metrics(url: str) -> list[dict]:
    return _read(url, views.model_metrics)


def save_annotation(url: str, article_id: str, kind: str, value, annotator: str) -> int:
    with engine(url).begin() as conn:
        saved = views.add_annotation(conn, article_id, kind, value, annotator)
    forget_labels()
    return saved


def forget_labels() -> None:
    """Drop the cached label queue, counts and models: the page must show a change at once."""
    to_annotate.clear()
    annotation_counts.clear()
    model_metrics.clear()


def annotator() -> str:
    """Who is labelling: the logged-in user's email (st.login), else the server's $USER."""
    if st.user.get("is_logged_in") and st.user.get("email"):
        return str(st.user["email"])
    return os.environ.get("USER") or getpass.getuser()
