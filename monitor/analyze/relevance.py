"""Is an article about the topic, how sure are we, and why?

Two sources of evidence, both explainable:

1. The topic's rules (feeds.yaml `topic:`), per language:
   - include terms are strong: one is enough (score 0.85 and up);
   - the boolean query catches looser wording that needs context, such as
     `"social credit" AND (China OR Beijing)` (score 0.75);
   - exclude terms (Alberta, 统一社会信用代码, unreliable entity, ...) only win when no include
     term matched: they turn a query match into 0.25 and lower anything else to 0.02.
   A topic without include terms and queries keeps every article (score 1.0).
2. An optional learned classifier (word + character n-grams, calibrated logistic regression)
   trained on labelled articles; its probability is averaged with the rule score.

No database access here: monitor.analyze.jobs.relevance loads and saves.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from monitor.analyze.query import (
    Node, QuerySyntaxError, Term, TermList, TokenIndex, make_term, matched_terms, parse_query,
)
from monitor.analyze.ngram_counts import predict_proba
from monitor.analyze.text import TOKENIZER_VERSION, add_zh_words, make_vectorizer, tokenize
from monitor.config import Topic
from monitor.errors import ConfigError, InputError
from monitor.jsonl import numbered_lines

INCLUDE_SCORE = 0.85
QUERY_SCORE = 0.75
VETOED_QUERY_SCORE = 0.25
EXCLUDED_SCORE = 0.02
PARTIAL_SCORE = 0.1
UNMATCHED_MARGIN = 0.15   # how far the classifier alone must clear the threshold
MODEL_FORMAT = 1


@dataclass(frozen=True)
class Verdict:
    """A relevance decision with its score in [0, 1] and a reason a person can read."""

    score: float
    relevant: bool
    reason: str
    # Which evidence decided: include, query, vetoed, excluded, partial, none or open.
    basis: str = "none"


@dataclass(frozen=True)
class LanguageRules:
    """A topic's compiled terms for one language."""

    include: tuple[Term, ...] = ()
    exclude: tuple[Term, ...] = ()
    query: Node | None = None

    @property
    def empty(self) -> bool:
        return not self.include and self.query is None

    @cached_property
    def included(self) -> TermList:
        return TermList(self.include)

    @cached_property
    def excluded(self) -> TermList:
        return TermList(self.exclude)


def article_text(title: str, summary: str = "", fulltext: str | None = None) -> str:
    """The text relevance and the token cache are computed from."""
    return "\n".join(part for part in (title, summary, fulltext or "") if part)


class TopicRules:
    """A Topic compiled for matching: normalised terms and parsed queries per language."""

    def __init__(self, topic: Topic, source: str = "feeds.yaml"):
        self.topic = topic
        add_zh_words(self._chinese_terms(topic))
        self.by_language = {lang: self._compile(topic, lang, source) for lang in self._languages(topic)}
        self.open = all(rules.empty for rules in self.by_language.values())
        self._union = LanguageRules(
            include=tuple(t for r in self.by_language.values() for t in r.include),
            exclude=tuple(t for r in self.by_language.values() for t in r.exclude),
        )

    @staticmethod
    def _languages(topic: Topic) -> list[str]:
        return sorted(set(topic.languages) | set(topic.include) | set(topic.exclude) | set(topic.query))

    @staticmethod
    def _chinese_terms(topic: Topic) -> list[str]:
        words = list(topic.zh_dictionary)
        for terms in (topic.include, topic.exclude):
            words += [w for lang, ws in terms.items() if lang.startswith("zh") for w in ws]
        words += [w for concept in topic.glossary.values()
                  for lang, ws in concept.items() if lang.startswith("zh") for w in ws]
        return words

    @staticmethod
    def _compile(topic: Topic, lang: str, source: str) -> LanguageRules:
        problems: list[str] = []

        def terms(kind: str, texts: Iterable[str]) -> tuple[Term, ...]:
            out = []
            for i, text in enumerate(texts):
                try:
                    out.append(make_term(text, lang))
                except QuerySyntaxError as exc:
                    problems.append(f"{source}: topic.{kind}.{lang}[{i}]: {exc}")
            return tuple(out)

        include = terms("include", topic.include.get(lang, ()))
        exclude = terms("exclude", topic.exclude.get(lang, ()))
        query = None
        if topic.query.get(lang, "").strip():
            try:
                query = parse_query(topic.query[lang], lang)
            except QuerySyntaxError as exc:
                problems.append(f"{source}: topic.query.{lang}: {exc}")
        if problems:
            raise ConfigError(problems)
        return LanguageRules(include, exclude, query)

    def for_language(self, language: str) -> LanguageRules:
        """The rules of `language`; an unknown language is checked against every include term."""
        base = (language or "").split("-")[0].lower()
        rules = self.by_language.get(base)
        return rules if rules is not None and not rules.empty else self._union

    def judge(self, tokens: Sequence[str], language: str, title_tokens: Sequence[str] = (), *,
              title: str | None = None) -> Verdict:
        """Score one article from its tokens (title + text) and, for a small bonus, its title's.

        Give the title's tokens, or its text as `title`: it is then tokenized only when an
        include term matched (the only case that looks at it)."""
        threshold = self.topic.threshold
        if self.open:
            return Verdict(1.0, True, "topic has no include terms: every article is relevant", "open")
        rules = self.for_language(language)
        index = TokenIndex(tokens)
        included = [t.text for t in rules.included.matching(index)]
        excluded = [t.text for t in rules.excluded.matching(index)]
        if included:
            if title is not None:
                title_tokens = tokenize(title, language)
            title_index = TokenIndex(title_tokens)
            in_title = rules.included.any_match(title_index)
            score = INCLUDE_SCORE + 0.04 * (len(included) - 1) + (0.06 if in_title else 0.0)
            score = max(INCLUDE_SCORE - 0.1, min(1.0, score) - 0.03 * len(excluded))
            reason = "include: " + ", ".join(included)
            if excluded:
                reason += "; exclude terms outweighed: " + ", ".join(excluded)
            return Verdict(round(score, 3), score >= threshold, reason, "include")
        query_hit = rules.query is not None and rules.query.matches(index)
        if query_hit and not excluded:
            reason = "query: " + ", ".join(matched_terms(rules.query, index))
            return Verdict(QUERY_SCORE, QUERY_SCORE >= threshold, reason, "query")
        if query_hit:
            reason = ("exclude: " + ", ".join(excluded) + " (query matched: "
                      + ", ".join(matched_terms(rules.query, index)) + ")")
            return Verdict(VETOED_QUERY_SCORE, VETOED_QUERY_SCORE >= threshold, reason, "vetoed")
        if excluded:
            return Verdict(EXCLUDED_SCORE, EXCLUDED_SCORE >= threshold, "exclude: " + ", ".join(excluded),
                           "excluded")
        partial = matched_terms(rules.query, index) if rules.query is not None else []
        if partial:
            return Verdict(PARTIAL_SCORE, PARTIAL_SCORE >= threshold,
                           "query not satisfied; found only: " + ", ".join(partial), "partial")
        return Verdict(0.0, 0.0 >= threshold, "no topic term", "none")


def combine(rule: Verdict, probability: float | None, threshold: float,
            margin: float = UNMATCHED_MARGIN) -> Verdict:
    """The rule verdict merged with the classifier's probability, when there is one.

    Include terms keep an article (the classifier can only raise its score); a query match,
    with or without exclude terms, is averaged with the classifier; an exclude-only match
    stays out; when no rule matched, the classifier decides alone but must clear the
    threshold by `margin` (it finds what the terms miss, at some cost in precision)."""
    if probability is None or rule.basis == "open":
        return rule
    if rule.basis == "include":
        score = max(rule.score, (rule.score + probability) / 2)
    elif rule.basis in ("query", "vetoed"):
        score = (rule.score + probability) / 2
    elif rule.basis == "excluded":
        score = min(rule.score, probability)
    else:
        score = max(rule.score, probability - margin)
    score = round(score, 3)
    return Verdict(score, score >= threshold, f"{rule.reason}; classifier p={probability:.2f}", rule.basis)


# --- labelled examples -------------------------------------------------------------------

@dataclass(frozen=True)
class Example:
    """One labelled article."""

    id: str
    title: str
    text: str
    language: str
    relevant: bool
    tokens: tuple[str, ...] = field(default=(), compare=False)

    @property
    def full_text(self) -> str:
        return article_text(self.title, self.text)


def load_labels(path: str | Path) -> list[Example]:
    """Read a JSONL file of {"id", "title", "text" (or "summary"), "language", "relevant"}."""
    path = Path(path)
    examples = []
    for number, line in numbered_lines(path):
        try:
            row = json.loads(line)
            examples.append(example_from_row(row, default_id=f"{path.name}:{number}"))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{path}:{number}: not a labelled article: {exc}") from None
    if not examples:
        raise InputError(f"{path}: no labelled articles")
    return examples


def example_from_row(row: dict[str, Any], *, default_id: str = "") -> Example:
    """A labelled article from a dict (a JSONL line or a dashboard label)."""
    if not isinstance(row, dict):
        raise TypeError("each line must be a JSON object")
    relevant = row["relevant"]
    if not isinstance(relevant, bool):
        raise ValueError("'relevant' must be true or false")
    language = str(row.get("language") or row.get("lang") or "").strip()
    if not language:
        raise ValueError("'language' is missing")
    text = row.get("text") or row.get("summary") or ""
    return Example(id=str(row.get("id") or default_id), title=str(row.get("title") or ""),
                   text=str(text), language=language, relevant=relevant)


def with_tokens(examples: Sequence[Example]) -> list[Example]:
    """The examples with their tokens computed (once) for the classifier and the rules."""
    return [e if e.tokens else Example(e.id, e.title, e.text, e.language, e.relevant,
                                       tuple(tokenize(e.full_text, e.language)))
            for e in examples]


def labels_fingerprint(examples: Sequence[Example]) -> str:
    """Identifies a label set, so eval can tell it is looking at the training data."""
    digest = hashlib.sha256()
    for e in sorted(examples, key=lambda e: e.id):
        digest.update(f"{e.id}\t{int(e.relevant)}\t{e.title}\n".encode())
    return digest.hexdigest()


# --- learned classifier ------------------------------------------------------------------

def _tokens_of(docs: Sequence[dict]) -> list[list[str]]:
    return [[f"lang:{d['language']}", *d["tokens"]] for d in docs]


def _text_of(docs: Sequence[dict]) -> list[str]:
    return [d["text"].lower() for d in docs]


def _docs(examples: Sequence[Example]) -> list[dict]:
    return [{"tokens": list(e.tokens), "text": e.full_text, "language": e.language}
            for e in with_tokens(examples)]


def build_pipeline(n_examples: int):
    """Word (1-2 gram, over our tokens) and character (2-4 gram) TF-IDF, then a calibrated
    logistic regression. Calibration folds shrink for small label sets."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.preprocessing import FunctionTransformer

    words = Pipeline([("select", FunctionTransformer(_tokens_of)),
                      ("tfidf", make_vectorizer(min_df=1, max_df=1.0, ngram_range=(1, 2)))])
    chars = Pipeline([("select", FunctionTransformer(_text_of)),
                      ("tfidf", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=2,
                                                sublinear_tf=True, max_features=200_000))])
    classifier = LogisticRegression(C=10.0, class_weight="balanced", solver="liblinear")
    folds = 5 if n_examples >= 100 else 3
    return Pipeline([("features", FeatureUnion([("words", words), ("chars", chars)])),
                     ("classifier", CalibratedClassifierCV(classifier, method="sigmoid", cv=folds))])


def _check_trainable(examples: Sequence[Example]) -> None:
    positives = sum(e.relevant for e in examples)
    negatives = len(examples) - positives
    if min(positives, negatives) < 6:
        raise InputError(f"need at least 6 relevant and 6 irrelevant labelled articles to train "
                         f"(have {positives} and {negatives})")


# The memoised n-gram counter of the model used last, kept outside the model so it is never
# pickled with it.
_COUNTERS: dict[str, Any] = {}


@dataclass
class RelevanceModel:
    """A fitted classifier plus what it was trained on."""

    pipeline: Any
    fingerprint: str
    n_examples: int
    tokenizer_version: int = TOKENIZER_VERSION
    format: int = MODEL_FORMAT

    def probabilities(self, examples: Sequence[Example]) -> list[float]:
        if not examples:
            return []
        return [float(p) for p in predict_proba(self.pipeline, _docs(examples), _COUNTERS)[:, 1]]

    def to_blob(self) -> bytes:
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def from_blob(blob: bytes) -> "RelevanceModel | None":
        """The model in a models-table blob; None if it is from an incompatible version.

        The blob comes from our own database (written by `monitor relevance train`)."""
        try:
            model = pickle.loads(blob)
        except Exception:   # written by another version of the code or of scikit-learn
            return None
        if not isinstance(model, RelevanceModel) or model.format != MODEL_FORMAT \
                or model.tokenizer_version != TOKENIZER_VERSION:
            return None
        return model


def train(examples: Sequence[Example]) -> RelevanceModel:
    """Fit the classifier on labelled examples."""
    _check_trainable(examples)
    pipeline = build_pipeline(len(examples))
    pipeline.fit(_docs(examples), [e.relevant for e in examples])
    return RelevanceModel(pipeline, labels_fingerprint(examples), len(examples))


def cross_validated_probabilities(examples: Sequence[Example], folds: int = 5,
                                  seed: int = 13) -> list[float]:
    """Out-of-fold probabilities: each example scored by a model that never saw it."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    _check_trainable(examples)
    docs = _docs(examples)
    labels = [e.relevant for e in examples]
    splitter = StratifiedKFold(n_splits=min(folds, sum(labels), len(labels) - sum(labels)),
                               shuffle=True, random_state=seed)
    probs = cross_val_predict(build_pipeline(len(examples) * (folds - 1) // folds), docs, labels,
                              cv=splitter, method="predict_proba")
    return [float(p) for p in probs[:, 1]]


# --- evaluation --------------------------------------------------------------------------

def scores(pairs: Iterable[tuple[bool, bool]]) -> dict[str, float | int]:
    """Precision, recall and F1 of (predicted, actual) pairs."""
    tp = fp = fn = tn = 0
    for predicted, actual in pairs:
        tp += predicted and actual
        fp += predicted and not actual
        fn += (not predicted) and actual
        tn += (not predicted) and not actual
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"n": tp + fp + fn + tn, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}


def per_language_scores(examples: Sequence[Example], predicted: Sequence[bool]) -> dict[str, dict]:
    """scores() per language and for all languages together ("all")."""
    out: dict[str, dict] = {}
    for lang in sorted({e.language for e in examples}):
        out[lang] = scores((p, e.relevant) for e, p in zip(examples, predicted) if e.language == lang)
    out["all"] = scores((p, e.relevant) for e, p in zip(examples, predicted))
    return out


def rule_verdicts(rules: TopicRules, examples: Sequence[Example]) -> list[Verdict]:
    return [rules.judge(e.tokens, e.language, tokenize(e.title, e.language))
            for e in with_tokens(examples)]


def evaluate(topic: Topic, examples: Sequence[Example], model: RelevanceModel | None = None,
             *, source: str = "feeds.yaml") -> dict[str, Any]:
    """Per-language precision/recall/F1 of the rules, the classifier and both combined.

    When `model` was trained on these very labels, the classifier is cross-validated
    instead (its own training data would flatter it)."""
    rules = TopicRules(topic, source)
    examples = with_tokens(examples)
    verdicts = rule_verdicts(rules, examples)
    report: dict[str, Any] = {"examples": len(examples), "threshold": topic.threshold,
                              "rules": per_language_scores(examples, [v.relevant for v in verdicts])}
    if model is None:
        report["classifier_mode"] = "none"
        return report
    if model.fingerprint == labels_fingerprint(examples):
        report["classifier_mode"] = "cross-validated (model was trained on these labels)"
        probs = cross_validated_probabilities(examples)
    else:
        report["classifier_mode"] = "stored model"
        probs = model.probabilities(examples)
    report["classifier"] = per_language_scores(examples, [p >= 0.5 for p in probs])
    combined = [combine(v, p, topic.threshold).relevant for v, p in zip(verdicts, probs)]
    report["combined"] = per_language_scores(examples, combined)
    return report
