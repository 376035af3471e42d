"""The framing job: score relevant, non-duplicate articles per frame, then recompute shifts.

Scores come from the codebook's terms; when a classifier was trained for this codebook
(`monitor frames train`), its probabilities replace the term scores and its thresholds
decide presence, while the matched terms stay as evidence.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.engine import Connection, Engine

from monitor.analyze.codebook import Codebook, codebook_for
from monitor.analyze.frame_model import FrameClassifier
from monitor.analyze.framing import CompiledFrame, compile_codebook, score_article
from monitor.analyze.jobs.relevance import STATE_KEY as RELEVANCE_STATE
from monitor.analyze.relevance import TopicRules
from monitor.analyze.series import period_bounds
from monitor.analyze.shifts import DayCounts, detect_shifts_in_counts, early_evidence
from monitor.analyze.text import TOKENIZER_VERSION, has_cjk, zh_dictionary_fingerprint
from monitor.workers import exit_with_parent
from monitor.config import Settings
from monitor.models import FrameScore
from monitor.store import framing as store
from monitor.store.analysis import get_state
from monitor.store.frame_counts import day_counts, is_built, refresh_frame_counts

BATCH = 500


def model_name(codebook: Codebook) -> str:
    return f"frames:{codebook.name}"


def article_text(row) -> str:
    return "\n".join(part for part in (row.title, row.fulltext or row.summary) if part)


def article_body(row) -> str:
    return row.fulltext or row.summary or ""


def _with_model(scores: list[FrameScore], model: FrameClassifier, probs, language: str) -> list[FrameScore]:
    index = {frame: j for j, frame in enumerate(model.frames)}
    cut = model.threshold(language)
    out = []
    for s in scores:
        if s.frame in index:
            p = float(probs[index[s.frame]])
            s = FrameScore(s.article_id, s.frame, round(p, 4), p >= cut, "model", s.evidence)
        out.append(s)
    return out


def cached_tokens(row, cached_zh: bool) -> list[str] | None:
    """The relevance job's tokens of title + body, when they are what framing would compute:
    same tokenizer, the body is the summary (with a full text, relevance tokenized summary
    and full text, framing reads the full text only), and for Chinese text the same jieba
    dictionary (`cached_zh`)."""
    if not row.tokens_json or row.tokens_version != TOKENIZER_VERSION or row.fulltext:
        return None
    if not cached_zh and has_cjk(f"{row.title}\n{row.summary}"):
        return None
    return json.loads(row.tokens_json)


def score_rows(rows, codebook: Codebook, min_score: float, model: FrameClassifier | None,
               compiled: list[CompiledFrame] | None = None, cached_zh: bool = False) -> list[FrameScore]:
    """Frame scores of these articles (`compiled`: the codebook compiled once by the caller)."""
    compiled = compiled if compiled is not None else compile_codebook(codebook)
    texts = [article_text(r) for r in rows]
    probs = model.predict_proba(texts, [r.language for r in rows]) if model and rows else None
    scores: list[FrameScore] = []
    for i, (row, text) in enumerate(zip(rows, texts)):
        found = score_article(row.title or "", article_body(row), row.language, compiled,
                              article_id=row.id, min_score=min_score,
                              tokens=cached_tokens(row, cached_zh))
        scores += _with_model(found, model, probs[i], row.language) if model else found
    return scores


# Below this many articles one process is faster than starting workers.
POOL_MIN_ARTICLES = 4000


@dataclass(frozen=True)
class _Row:
    """What scoring reads of an article (picklable, unlike a database row)."""

    id: str
    title: str | None
    summary: str | None
    fulltext: str | None
    language: str
    tokens_json: str | None = None
    tokens_version: int | None = None


_worker_args: tuple | None = None


def _init_worker(args: tuple) -> None:
    global _worker_args
    exit_with_parent()
    _worker_args = args


def _stored_scores(batch: list[_Row], args: tuple) -> list[store.ScoreRow]:
    """The batch's scores as the driver stores them: built where they are scored, so worker
    processes, not the parent that saves them, pay for it."""
    return store.score_rows(score_rows(batch, *args))


def _score_in_worker(batch: list[_Row]) -> list[store.ScoreRow]:
    assert _worker_args is not None
    return _stored_scores(batch, _worker_args)


def _scored_batches(batches: list[list[_Row]], args: tuple) -> Iterator[tuple[list[_Row], list[store.ScoreRow]]]:
    """(batch, its score rows) in order; scored by worker processes, one per core, when there
    are many articles (codebook matching is pure Python, so threads would not help)."""
    workers = len(os.sched_getaffinity(0))
    if workers < 2 or sum(map(len, batches)) < POOL_MIN_ARTICLES:
        for batch in batches:
            yield batch, _stored_scores(batch, args)
        return
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(args,)) as pool:
        yield from zip(batches, pool.map(_score_in_worker, batches))


class _StoredEvidence:
    """Finds a shift's evidence articles in the database: the scores of its scope are loaded
    one period at a time, as early_evidence asks for them, and kept for the scope's other
    frames (the shifts of a scope come together)."""

    def __init__(self, conn: Connection, frames: list[str], period: str):
        self.conn, self.frames, self.period = conn, frames, period
        self.loaded: dict[tuple[str, str, str], pd.DataFrame] = {}

    def __call__(self, scope_kind: str, scope: str, frame: str, periods: list[str],
                 rising: bool) -> tuple[str, ...]:
        return early_evidence(lambda label: self._period_rows(scope_kind, scope, label), periods, frame, rising)

    def _period_rows(self, scope_kind: str, scope: str, label: str) -> pd.DataFrame:
        key = (scope_kind, scope, label)
        if key not in self.loaded:
            start, end = period_bounds(label, self.period)
            if len(self.loaded) >= 256:   # bounds memory
                self.loaded.clear()
            self.loaded[key] = store.frame_observations(self.conn, self.frames, scope=(scope_kind, scope),
                                                        between=(start.to_pydatetime(), end.to_pydatetime()))
        return self.loaded[key]


def _cached_zh(engine: Engine, settings: Settings) -> bool:
    """Whether the relevance job's cached Chinese tokens were made with this process's jieba
    dictionary (call after compile_codebook). Compiling the topic teaches jieba its words,
    as that job does."""
    TopicRules(settings.topic, settings.source or "feeds.yaml")
    state = get_state(engine, RELEVANCE_STATE) or {}
    return state.get("zh") == zh_dictionary_fingerprint()


def _score(engine: Engine, rows: list, args: tuple) -> int:
    """Score the rows batch by batch, saving each batch's scores; return how many."""
    batches = [[_Row(r.id, r.title, r.summary, r.fulltext, r.language, r.tokens_json, r.tokens_version)
                for r in rows[start:start + BATCH]] for start in range(0, len(rows), BATCH)]
    scored = 0
    for batch, stored in _scored_batches(batches, args):
        with engine.begin() as conn:
            store.save_score_rows(conn, stored)
        scored += len(batch)
    return scored


def _shifts(conn: Connection, codebook: Codebook, period: str, changed_days: set[str] | None) -> int:
    """Bring the per-day counts up to date, then test them for shifts; return how many."""
    refresh_frame_counts(conn, changed_days)   # the dashboard's per-day aggregate, and the shifts' input
    evidence = _StoredEvidence(conn, codebook.ids, period)
    counts = DayCounts(*day_counts(conn, codebook.ids), codebook.ids)
    found = detect_shifts_in_counts(counts, evidence, period=period)
    return store.replace_shifts(conn, found)


def run(engine: Engine, settings: Settings, *, full: bool = False) -> dict:
    """Score what is new (everything when `full`), then replace the shifts table."""
    codebook = codebook_for(settings.frames)
    with engine.begin() as conn:
        blob = store.load_model(conn, model_name(codebook))
        unscorable = store.unscorable_scored(conn)
        # Only the days whose scores change need their counts rebuilt (all, when never built).
        changed_days = None if full or not is_built(conn) else set(unscorable.values())
        removed = store.clear_frame_scores(conn, list(unscorable))
        if full:
            store.clear_frame_scores(conn)
        rows = store.articles_to_score(conn, full=full)
    model = FrameClassifier.from_bytes(blob) if blob else None
    compiled = compile_codebook(codebook)
    scored = _score(engine, rows, (codebook, settings.frames.min_score, model, compiled,
                                   _cached_zh(engine, settings)))
    if changed_days is not None:
        changed_days |= {r.published_at.date().isoformat() for r in rows}
    with engine.begin() as conn:
        saved = _shifts(conn, codebook, settings.frames.period, changed_days)
    return {"scored": scored, "removed": removed, "shifts": saved,
            "source": "model" if model else "codebook", "codebook": codebook.name}
