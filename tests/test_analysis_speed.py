"""The analysis shortcuts taken for speed give exactly what the plain computations give:
title + body tokens, the relevance job in worker processes, the classifier's memoised character n-grams, the
indexed codebook matching, and `--full` reusing the token cache."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from monitor.analyze import ngram_counts
from monitor.analyze import relevance as rel
from monitor.analyze.codebook import codebook_for
from monitor.analyze.framing import annotate, compile_codebook, score_article
from monitor.analyze.jobs import relevance as job
from monitor.analyze.query import TokenIndex, make_term
from monitor.analyze.text import phrase_positions, tokenize
from monitor.config import load_settings
from monitor.store import open_engine
from monitor.store.schema import articles

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "tests" / "data" / "relevance_dev.jsonl"


@pytest.fixture(scope="module")
def examples():
    return rel.load_labels(DEV)


def test_title_then_body_tokens_equal_whole_text_tokens(examples):
    for e in examples:
        whole = tokenize(rel.article_text(e.title, e.text), e.language)
        assert tokenize(e.title, e.language) + tokenize(e.text, e.language) == whole


def test_memoised_char_ngrams_give_the_vectorizer_matrix(examples):
    model = rel.train(rel.with_tokens(examples))
    chars = dict(model.pipeline.named_steps["features"].transformer_list)["chars"]
    vectorizer = chars.named_steps["tfidf"]
    texts = [e.full_text.lower() for e in examples] + ["", "x", "  Tab\tand  SPACES ", "ΣΑΣ 社会"]
    counter = ngram_counts.char_counter(vectorizer)
    assert counter is not None
    for batch in (texts, texts[::-1]):   # the second batch runs on a warm memo
        expected, got = vectorizer.transform(batch), counter.transform(batch)
        assert (expected != got).nnz == 0 and np.array_equal(expected.indices, got.indices)
    docs = rel._docs(examples)
    assert np.array_equal(model.pipeline.predict_proba(docs), ngram_counts.predict_proba(model.pipeline, docs, {}))


def test_prefix_terms_match_as_a_scan_would():
    index = TokenIndex(tokenize("Китай систему социального кредита расширяет", "ru"))
    assert make_term("сист* социальн*", "ru").matches(index)
    assert not make_term("кредит* сист*", "ru").matches(index)
    assert index.starts("сист", prefix=True) == [1]


def test_indexed_codebook_matching_equals_phrase_scan(examples):
    frames = compile_codebook(codebook_for(load_settings(ROOT / "feeds.yaml").frames))
    for e in examples[:60]:
        part = annotate(e.text, e.language)
        for frame in frames:
            for terms in frame.terms.values():
                for term in terms:
                    assert part.phrase_starts(term.stems) == phrase_positions(part.tokens, term.stems)
        scores = score_article(e.title, e.text, e.language, frames)
        assert len(scores) == len(frames)


def test_full_run_reuses_valid_cached_tokens(db_url):
    settings = load_settings(ROOT / "feeds.yaml")
    engine = open_engine(db_url)
    now = datetime(2024, 5, 1, tzinfo=timezone.utc)
    with engine.begin() as conn:
        conn.execute(articles.insert(), [
            {"id": f"a{i}", "url": f"https://example.org/{i}", "title": title, "summary": "",
             "language": lang, "published_at": now, "fetched_at": now}
            for i, (title, lang) in enumerate([("China's social credit system expands", "en"),
                                               ("Китай расширяет систему социального кредита", "ru")])])
    first = job.run(engine, settings)
    assert first["tokenized"] == 2 and first["relevant"] == 2
    again = job.run(engine, settings, full=True)
    assert again["scored"] == 2 and again["tokenized"] == 0 and again["relevant"] == 2


def test_job_in_worker_processes_equals_one_process(db_url, monkeypatch):
    settings = load_settings(ROOT / "feeds.yaml")
    now = datetime(2024, 5, 1, tzinfo=timezone.utc)
    rows = [{"id": f"e{i}", "url": f"https://example.org/e{i}", "title": e.title, "summary": e.text,
             "language": e.language, "published_at": now, "fetched_at": now}
            for i, e in enumerate(rel.load_labels(DEV))]
    results = []
    for pool_min in (10**9, 1):
        engine = open_engine(db_url)
        with engine.begin() as conn:
            conn.execute(articles.delete())
            conn.execute(articles.insert(), rows)
        monkeypatch.setattr(job, "POOL_MIN_ARTICLES", pool_min)
        monkeypatch.setattr(job, "BATCH", 40)
        job.run(engine, settings, full=True)
        with engine.connect() as conn:
            results.append(conn.execute(articles.select().with_only_columns(
                articles.c.id, articles.c.relevance_score, articles.c.relevance_reason, articles.c.tokens)
                .order_by(articles.c.id)).all())
    assert results[0] == results[1] and len(results[0]) == len(rows)
