"""The themes job: refit the topic model when the corpus has grown, else place new articles.

A refit (always with `full=True`, otherwise when there is no model yet, the number of
themes asked for in feeds.yaml changed, or relevant articles grew by REFIT_GROWTH since
the last fit) matches the new themes to the stored ones so ids survive, and records
births, merges, splits and retirements. Between refits, new articles join the theme
with the most similar stored centroid. Each article carries the glossary concepts its
tokens mention, which a multilingual corpus is fitted on (see analyze.themes).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy.engine import Connection, Engine

from monitor.analyze.glossary import Glossary
from monitor.analyze.jobs.stories import cached_tokens, has_cached_tokens
from monitor.analyze.themes import FittedTheme, ThemeDoc, ThemeFit, assign_to_centroids, fit_themes, match_themes
from monitor.config import Settings
from monitor.store import grouping

STATE_KEY = "themes.model"
REFIT_GROWTH = 1.2   # refit once there are 20% more relevant articles than at the last fit


def run(engine: Engine, settings: Settings, *, full: bool = False) -> dict:
    """Refit or extend the themes; return counts for the run's report."""
    now = datetime.now(timezone.utc)
    wanted_k = settings.analysis.themes
    with engine.begin() as conn:
        grouping.release_ungrouped(conn)
        total = grouping.count_grouped(conn)
        state = grouping.get_state(conn, STATE_KEY) or {}
        stored = grouping.load_themes(conn)
    refit = (full or not stored or not state or state.get("k_setting") != wanted_k
             or total >= REFIT_GROWTH * state.get("docs", 0))
    glossary = Glossary(settings.topic.glossary)
    if refit:
        return _refit(engine, glossary, wanted_k, total, now)
    return _place_new(engine, glossary, stored, state)


def _docs(rows, glossary: Glossary) -> list[ThemeDoc]:
    docs = []
    for row in rows:
        if not has_cached_tokens(row):
            glossary.teach_segmenter()   # fresh tokens must split Chinese as the cached ones do
        tokens = tuple(cached_tokens(row))
        docs.append(ThemeDoc(id=row.id, title=row.title, tokens=tokens, language=row.language or "",
                             concepts=tuple(glossary.concepts(tokens)),
                             text=f"{row.title}\n{row.summary or ''}"))
    return docs


def _refit(engine: Engine, glossary: Glossary, wanted_k: int | None, total: int, now: datetime) -> dict:
    with engine.connect() as conn:
        rows = grouping.theme_inputs(conn)
    previous = {row.id: row.theme_id for row in rows}
    docs = _docs(rows, glossary)
    rows.clear()   # the docs hold what fitting needs; the rows' token lists can go
    fit = fit_themes(docs, wanted_k)
    with engine.begin() as conn:
        stored = {t["id"]: t for t in grouping.load_themes(conn, active_only=False)}
        if fit is None:
            return _no_themes(conn, stored, now)
        active = {i: t["model_state"]["weights"] for i, t in stored.items()
                  if t["status"] == "active" and t.get("model_state")}
        match = match_themes(fit.themes, active, taken=set(stored))
        grouping.save_themes(conn, [_theme_row(theme_id, theme, stored.get(theme_id), now)
                                    for theme_id, theme in zip(match.ids, fit.themes)])
        grouping.retire_themes(conn, match.retired, now)
        grouping.add_theme_events(conn, [{"at": now, "kind": kind, "theme_id": theme_id,
                                          "related": list(related)}
                                         for kind, theme_id, related in match.events])
        theme_of = {article: theme_id for theme_id, theme in zip(match.ids, fit.themes)
                    for article in theme.article_ids}
        # Matched themes keep their ids, so most articles keep theme: write only changes.
        grouping.set_article_themes(conn, {article: theme_of.get(article)
                                           for article, theme_id in previous.items()
                                           if theme_of.get(article) != theme_id})
        grouping.set_state(conn, STATE_KEY, _state(fit, total, wanted_k, now), now)
    kinds = [kind for kind, _, _ in match.events]
    return {"refit": True, "k": fit.k, "articles": sum(len(t.article_ids) for t in fit.themes),
            "births": kinds.count("birth"), "merges": kinds.count("merge"),
            "splits": kinds.count("split"), "retirements": kinds.count("retirement")}


def _no_themes(conn: Connection, stored: dict, now: datetime) -> dict:
    """Too few articles for a model: retire what there was."""
    active = [i for i, t in stored.items() if t["status"] == "active"]
    grouping.retire_themes(conn, active, now)
    grouping.add_theme_events(conn, [{"at": now, "kind": "retirement", "theme_id": i, "related": []}
                                     for i in active])
    grouping.clear_article_themes(conn)
    grouping.set_state(conn, STATE_KEY, None, now)
    return {"refit": True, "k": 0, "articles": 0, "retirements": len(active)}


def _place_new(engine: Engine, glossary: Glossary, stored: list[dict], state: dict) -> dict:
    with engine.begin() as conn:
        docs = _docs(grouping.theme_inputs(conn, unassigned_only=True), glossary)
        centroids = {t["id"]: t["model_state"]["weights"] for t in stored if t.get("model_state")}
        placed = assign_to_centroids(docs, centroids, state.get("idf", {}), state.get("word_weight"))
        grouping.set_article_themes(conn, placed)
        sizes = grouping.theme_sizes(conn)
        grouping.save_themes(conn, [{"id": t["id"], "label": t["label"], "size": sizes.get(t["id"], 0)}
                                    for t in stored])
    return {"refit": False, "k": len(stored), "articles": sum(v is not None for v in placed.values())}


def _theme_row(theme_id: str, theme: FittedTheme, previous: dict | None, now: datetime) -> dict:
    keeps_birth = previous is not None and previous["status"] == "active"
    return {"id": theme_id, "label": theme.label, "terms": list(theme.terms),
            "headlines": list(theme.headlines), "size": len(theme.article_ids), "status": "active",
            "born_at": previous["born_at"] if keeps_birth else now, "retired_at": None,
            "model_state": {"weights": theme.weights}}


def _state(fit: ThemeFit, total: int, wanted_k: int | None, now: datetime) -> dict:
    return {"docs": total, "k": fit.k, "k_setting": wanted_k, "fitted_at": now.isoformat(),
            "idf": fit.idf, "word_weight": fit.word_weight,
            "selection": {str(k): v for k, v in fit.diagnostics.items()}}
