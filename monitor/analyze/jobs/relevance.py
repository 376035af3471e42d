"""Relevance job: tokenize new articles (filling the token cache) and judge them.

Everything is re-judged when the topic, the jieba dictionary, the tokenizer or the trained
model changed since the last run (remembered in analysis_state), so `analyze` after an
edit of feeds.yaml needs no `--full`.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy.engine import Engine

from pathlib import Path
from typing import Any

from monitor.analyze.relevance import (
    Example, RelevanceModel, TopicRules, article_text, combine, cross_validated_probabilities,
    evaluate, example_from_row, load_labels, per_language_scores, train, with_tokens,
)
from monitor.analyze.text import TOKENIZER_VERSION, TokenizerPool, zh_dictionary
from monitor.config import Settings
from monitor.errors import InputError
from monitor.store.analysis import (
    ArticleText, get_state, iter_articles_for_relevance, load_model, relevance_labels,
    save_model, save_relevance, set_state,
)

MODEL_NAME = "relevance"
STATE_KEY = "relevance.config"


def _fingerprint(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
                          .encode()).hexdigest()[:16]


BATCH = 5000   # articles per batch: large, so the classifier and the tokenizer pool work in bulk


def _cached(article: ArticleText, retokenize: bool) -> bool:
    return not retokenize and article.tokens is not None and article.tokens_version == TOKENIZER_VERSION


def _body(article: ArticleText) -> str:
    return "\n".join(p for p in (article.summary, article.fulltext) if p)


def _fresh_tokens(batch: list[ArticleText], pool: TokenizerPool) -> dict[str, tuple[list[str], list[str]]]:
    """Title and full tokens of the articles without valid cached tokens, by id.

    Title and body are tokenized apart: the tokens of article_text(title, ...) are exactly
    the title's followed by the body's (the newline between them splits every piece), and
    the judge needs the title's too."""
    items = [(text, a.language) for a in batch for text in (a.title, _body(a))]
    tokens = pool.map(items)
    return {a.id: (tokens[2 * i], tokens[2 * i] + tokens[2 * i + 1]) for i, a in enumerate(batch)}


def run(engine: Engine, settings: Settings, *, full: bool = False) -> dict:
    """Judge every article not judged yet (all when `full`); return counts.

    Cached tokens are reused (also by `full`) unless the tokenizer or the jieba dictionary
    changed; only new tokens are written back."""
    rules = TopicRules(settings.topic, settings.source or "feeds.yaml")
    _train_on_seed_labels(engine, settings)
    stored = load_model(engine, MODEL_NAME)
    model = RelevanceModel.from_blob(stored.blob) if stored else None
    state = {"topic": _fingerprint(settings.topic.model_dump()), "tokenizer": TOKENIZER_VERSION,
             "zh": _fingerprint(sorted(zh_dictionary())),
             "model": str(stored.trained_at) if model and stored else None}
    previous = get_state(engine, STATE_KEY) or {}
    retokenize = previous.get("zh") not in (None, state["zh"])
    rescore = full or retokenize or previous != state
    counts = {"scored": 0, "relevant": 0, "tokenized": 0, "classifier": model is not None,
              "full": rescore}
    with TokenizerPool() as pool:
        for batch in iter_articles_for_relevance(engine, full=rescore, batch_size=BATCH):
            fresh = _fresh_tokens([a for a in batch if not _cached(a, retokenize)], pool)
            counts["tokenized"] += len(fresh)
            examples = [Example(a.id, a.title, _body(a), a.language, False,
                                tuple(fresh[a.id][1] if a.id in fresh else a.tokens)) for a in batch]
            probabilities = model.probabilities(examples) if model else [None] * len(examples)
            results = []
            for article, example, probability in zip(batch, examples, probabilities):
                if article.id in fresh:
                    rule = rules.judge(example.tokens, article.language, fresh[article.id][0])
                else:
                    rule = rules.judge(example.tokens, article.language, title=article.title)
                verdict = combine(rule, probability, settings.topic.threshold)
                result = {"id": article.id, "score": verdict.score, "relevant": verdict.relevant,
                          "reason": verdict.reason}
                if article.id in fresh:
                    result.update(tokens=list(example.tokens), tokens_version=TOKENIZER_VERSION)
                results.append(result)
                counts["relevant"] += verdict.relevant
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
