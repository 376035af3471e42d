"""Relevance job: tokenize new articles (filling the token cache) and judge them.

Everything is re-judged when the topic, the jieba dictionary, the tokenizer or the trained
model changed since the last run (remembered in analysis_state), so `analyze` after an
edit of feeds.yaml needs no `--full`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from monitor.analyze.codebook import codebook_for
from monitor.analyze.framing import codebook_zh_terms
from monitor.analyze.relevance import (
    Example, RelevanceModel, TopicRules, combine, cross_validated_probabilities,
    evaluate, example_from_row, load_labels, per_language_scores, train, with_tokens,
)
from monitor.analyze.text import (
    TOKENIZER_VERSION, add_zh_words, tokenize, zh_dictionary, zh_dictionary_fingerprint,
)
from monitor.workers import exit_with_parent
from monitor.config import Settings
from monitor.errors import InputError
from monitor.store.analysis import (
    ArticleText, get_state, iter_articles_for_relevance, load_model,
    relevance_labels, save_model, save_relevance, set_state, tokens_json,
)

MODEL_NAME = "relevance"
STATE_KEY = "relevance.config"


def _fingerprint(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
                          .encode()).hexdigest()[:16]


BATCH = 2500   # articles per batch: large, so the classifier and the tokenizer work in bulk
POOL_MIN_ARTICLES = 5000   # below this, one process beats starting workers
IN_FLIGHT = 2   # batches queued per worker: bounds memory while keeping cores busy


@dataclass(frozen=True)
class _Judge:
    """Everything needed to judge a batch, shipped once to each worker process."""

    rules: TopicRules
    model: RelevanceModel | None
    threshold: float
    retokenize: bool
    zh_words: frozenset[str]


def _cached(article: ArticleText, retokenize: bool) -> bool:
    return not retokenize and article.tokens is not None and article.tokens_version == TOKENIZER_VERSION


def _body(article: ArticleText) -> str:
    return "\n".join(p for p in (article.summary, article.fulltext) if p)


def _fresh_tokens(batch: list[ArticleText]) -> dict[str, tuple[list[str], list[str]]]:
    """Title and full tokens of the articles without valid cached tokens, by id.

    Title and body are tokenized apart: the tokens of article_text(title, ...) are exactly
    the title's followed by the body's (the newline between them splits every piece), and
    the judge needs the title's too."""
    return {a.id: (title, title + tokenize(_body(a), a.language))
            for a in batch for title in [tokenize(a.title, a.language)]}


def judge_batch(judge: _Judge, batch: list[ArticleText]) -> list[dict]:
    """Tokenize (where the cache is not valid), classify and judge a batch of articles: the
    result dicts save_relevance takes, with tokens (as JSON text, encoded here in the worker
    rather than in the parent) only for freshly tokenized articles."""
    fresh = _fresh_tokens([a for a in batch if not _cached(a, judge.retokenize)])
    examples = [Example(a.id, a.title, _body(a), a.language, False,
                        tuple(fresh[a.id][1] if a.id in fresh else a.tokens)) for a in batch]
    probabilities = judge.model.probabilities(examples) if judge.model else [None] * len(examples)
    results = []
    for article, example, probability in zip(batch, examples, probabilities):
        if article.id in fresh:
            rule = judge.rules.judge(example.tokens, article.language, fresh[article.id][0])
        else:
            rule = judge.rules.judge(example.tokens, article.language, title=article.title)
        verdict = combine(rule, probability, judge.threshold)
        result = {"id": article.id, "score": verdict.score, "relevant": verdict.relevant,
                  "reason": verdict.reason}
        if article.id in fresh:
            result.update(tokens_json=tokens_json(example.tokens), tokens_version=TOKENIZER_VERSION)
        results.append(result)
    return results


_worker_judge: _Judge | None = None


def _init_worker(judge: _Judge) -> None:
    global _worker_judge
    exit_with_parent()
    add_zh_words(judge.zh_words)   # a no-op after fork; needed with spawn
    _worker_judge = judge


def _judge_in_worker(batch: list[ArticleText]) -> list[dict]:
    assert _worker_judge is not None
    return judge_batch(_worker_judge, batch)


def _judged_batches(engine: Engine, judge: _Judge, full: bool) -> Iterator[list[dict]]:
    """Results batch by batch; in worker processes (one per core) when there are many."""
    batches = iter_articles_for_relevance(engine, full=full, batch_size=BATCH)
    # The first batches tell whether there are many (a count would scan every article again).
    first = list(islice(batches, -(-POOL_MIN_ARTICLES // BATCH)))
    workers = len(os.sched_getaffinity(0))
    if workers < 2 or sum(map(len, first)) < POOL_MIN_ARTICLES:
        for batch in chain(first, batches):
            yield judge_batch(judge, batch)
        return
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(judge,)) as pool:
        pending: deque = deque()
        for batch in chain(first, batches):
            pending.append(pool.submit(_judge_in_worker, batch))
            if len(pending) >= workers * IN_FLIGHT:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def run(engine: Engine, settings: Settings, *, full: bool = False) -> dict:
    """Judge every article not judged yet (all when `full`); return counts.

    Cached tokens are reused (also by `full`) unless the tokenizer or the jieba dictionary
    changed; only new tokens are written back."""
    rules = TopicRules(settings.topic, settings.source or "feeds.yaml")
    # One jieba dictionary for every job, so the framing job can reuse the tokens cached here.
    add_zh_words(codebook_zh_terms(codebook_for(settings.frames)))
    _train_on_seed_labels(engine, settings)
    stored = load_model(engine, MODEL_NAME)
    model = RelevanceModel.from_blob(stored.blob) if stored else None
    state = {"topic": _fingerprint(settings.topic.model_dump()), "tokenizer": TOKENIZER_VERSION,
             "zh": zh_dictionary_fingerprint(),
             "model": str(stored.trained_at) if model and stored else None}
    previous = get_state(engine, STATE_KEY) or {}
    retokenize = previous.get("zh") not in (None, state["zh"])
    rescore = full or retokenize or previous != state
    counts = {"scored": 0, "relevant": 0, "tokenized": 0, "classifier": model is not None,
              "full": rescore}
    judge = _Judge(rules, model, settings.topic.threshold, retokenize, zh_dictionary())
    for results in _judged_batches(engine, judge, rescore):
        counts["tokenized"] += sum("tokens_json" in r for r in results)
        counts["relevant"] += sum(r["relevant"] for r in results)
        counts["scored"] += save_relevance(engine, results)
    set_state(engine, STATE_KEY, state)
    return counts


def _train_on_seed_labels(engine: Engine, settings: Settings) -> None:
    """Train on the topic's seed labels when no model was trained on them yet (or the file
    changed). A model trained with `relevance train` or dashboard labels is left alone."""
    path = settings.topic_labels_path()
    if path is None:
        return
    if not path.is_file():
        raise InputError(f"{settings.source}: topic.labels: no such file {path}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    stored = load_model(engine, MODEL_NAME)
    if stored is not None and stored.metrics.get("seed") in (digest, None):
        return
    # No cross-validation here: it would slow every first analysis; `relevance eval` has it.
    train_and_store(engine, path, seed=digest, cross_validate=False)


def stored_model(engine: Engine) -> RelevanceModel | None:
    """The trained classifier, or None when none is stored or it is from another version."""
    stored = load_model(engine, MODEL_NAME)
    return RelevanceModel.from_blob(stored.blob) if stored else None


def evaluate_file(settings: Settings, labels: Path, engine: Engine) -> dict[str, Any]:
    """`relevance eval`: scores of the rules, the stored classifier and both on a label file."""
    examples = load_labels(labels)
    return evaluate(settings.topic, examples, stored_model(engine), source=settings.source)


def train_and_store(engine: Engine, labels: Path | None = None, *,
                    seed: str | None = None, cross_validate: bool = True) -> dict[str, Any]:
    """`relevance train`: fit on a label file (or the dashboard's labels), store the model
    with its cross-validated scores, and return a summary."""
    if labels is not None:
        examples = load_labels(labels)
    else:
        examples = [example_from_row(row) for row in relevance_labels(engine)]
        if not examples:
            raise InputError("no relevance labels in the dashboard yet; pass --labels FILE")
    examples = with_tokens(examples)
    cv = None
    if cross_validate:
        probabilities = cross_validated_probabilities(examples)
        cv = per_language_scores(examples, [p >= 0.5 for p in probabilities])
    model = train(examples)
    save_model(engine, MODEL_NAME, model.to_blob(),
               {"cross_validated": cv, "examples": len(examples), "fingerprint": model.fingerprint,
                "seed": seed})
    return {"examples": len(examples), "relevant": sum(e.relevant for e in examples), "cv": cv}
