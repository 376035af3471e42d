"""Supervised multi-label frame classifier (scikit-learn) trained on labelled articles.

One logistic regression per frame over TF-IDF of the shared tokens (stems, jieba words),
all languages in one model so small languages borrow strength from large ones. Choices are
made by cross-validation on the training data only: the regularisation C, and a decision
threshold per language (languages label frames at very different rates: English articles in
SemEval-2023 carry 3.7 frames on average, Russian ones 2.5).

Labelled files are JSONL: {"id": ..., "title": ..., "text": ..., "language": "en",
"frames": ["Economic", "Political"]}.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_recall_fscore_support
from sklearn.model_selection import KFold

from monitor.analyze.text import make_vectorizer, tokenize
from monitor.errors import InputError
from monitor.jsonl import numbered_lines

C_GRID = (3.0, 10.0, 30.0)
THRESHOLD_GRID = tuple(np.round(np.arange(0.1, 0.8, 0.025), 3))
MIN_LANGUAGE_EXAMPLES = 30     # below this a language uses the global threshold
FOLDS = 5


@dataclass(frozen=True)
class LabelledArticle:
    id: str
    text: str                  # title + body
    language: str
    frames: tuple[str, ...]


def read_labelled(path: str | Path, *, require_frames: bool = True) -> list[LabelledArticle]:
    """Read a labelled JSONL file; InputError names the file and line of any bad record."""
    path = Path(path)
    items = []
    for number, line in numbered_lines(path):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{number}: not JSON: {exc.msg}") from None
        if not isinstance(record, dict):
            raise InputError(f"{path}:{number}: expected a JSON object")
        frames = record.get("frames")
        if require_frames and not isinstance(frames, list):
            raise InputError(f"{path}:{number}: `frames` must be a list of frame names")
        text = "\n".join(str(record.get(k) or "") for k in ("title", "text")).strip()
        items.append(LabelledArticle(id=str(record.get("id", number)), text=text,
                                     language=str(record.get("language") or "und"),
                                     frames=tuple(str(f) for f in frames or ())))
    if not items:
        raise InputError(f"{path}: no records")
    return items


def _tokens(items: Sequence[LabelledArticle]) -> list[list[str]]:
    return [tokenize(item.text, item.language) for item in items]


def label_matrix(items: Sequence[LabelledArticle], frames: Sequence[str]) -> np.ndarray:
    index = {f: i for i, f in enumerate(frames)}
    y = np.zeros((len(items), len(frames)), dtype=int)
    for row, item in enumerate(items):
        for frame in item.frames:
            if frame in index:
                y[row, index[frame]] = 1
    return y


def _fit_probabilities(train_tokens, y_train, test_tokens, c: float) -> np.ndarray:
    vectorizer = make_vectorizer()
    x_train = vectorizer.fit_transform(train_tokens)
    x_test = vectorizer.transform(test_tokens)
    probs = np.zeros((len(test_tokens), y_train.shape[1]))
    for j in range(y_train.shape[1]):
        probs[:, j] = _one_frame(x_train, y_train[:, j], c).predict_proba(x_test)[:, 1] \
            if 0 < y_train[:, j].sum() < len(y_train) else y_train[0, j]
    return probs


def _one_frame(x, y, c: float) -> LogisticRegression:
    return LogisticRegression(C=c, class_weight="balanced", solver="liblinear", max_iter=2000).fit(x, y)


def _best_threshold(probs: np.ndarray, y: np.ndarray) -> float:
    return float(max(THRESHOLD_GRID, key=lambda t: f1_score(y, probs >= t, average="micro", zero_division=0)))


@dataclass
class FrameClassifier:
    """Fitted vectorizer, one model per frame, and per-language thresholds chosen by CV."""

    frames: list[str]
    c: float = 10.0
    thresholds: dict[str, float] = field(default_factory=dict)   # language -> threshold; "*" global
    cv: dict = field(default_factory=dict)
    vectorizer: object = None
    models: list = field(default_factory=list)

    @classmethod
    def train(cls, items: Sequence[LabelledArticle], frames: Sequence[str], *,
              c_grid: Sequence[float] = C_GRID, folds: int = FOLDS, seed: int = 0) -> "FrameClassifier":
        """Choose C and thresholds by k-fold CV on `items`, then fit on all of them."""
        if len(items) < folds * 2:
            raise InputError(f"{len(items)} labelled articles are too few to train (need {folds * 2}+)")
        tokens, y = _tokens(items), label_matrix(items, frames)
        languages = np.array([item.language for item in items])
        best = None
        for c in c_grid:
            probs = np.zeros(y.shape)
            for train, test in KFold(folds, shuffle=True, random_state=seed).split(tokens):
                probs[test] = _fit_probabilities([tokens[i] for i in train], y[train],
                                                 [tokens[i] for i in test], c)
            thresholds = _language_thresholds(probs, y, languages)
            predicted = _apply(probs, languages, thresholds)
            micro = f1_score(y, predicted, average="micro", zero_division=0)
            if best is None or micro > best[0]:
                best = (micro, c, thresholds, predicted)
        micro, c, thresholds, predicted = best
        model = cls(frames=list(frames), c=c, thresholds=thresholds)
        model.cv = {"folds": folds, "c": c, "thresholds": thresholds,
                    **evaluate(y, predicted, frames, languages)}
        model._fit(tokens, y)
        return model

    def _fit(self, tokens: list[list[str]], y: np.ndarray) -> None:
        self.vectorizer = make_vectorizer()
        x = self.vectorizer.fit_transform(tokens)
        self.models = [(_one_frame(x, y[:, j], self.c) if 0 < y[:, j].sum() < len(y) else float(y[0, j]))
                       for j in range(len(self.frames))]

    def predict_proba(self, texts: Sequence[str], languages: Sequence[str]) -> np.ndarray:
        x = self.vectorizer.transform([tokenize(t, lang) for t, lang in zip(texts, languages)])
        out = np.zeros((x.shape[0], len(self.frames)))
        for j, model in enumerate(self.models):
            out[:, j] = model.predict_proba(x)[:, 1] if hasattr(model, "predict_proba") else model
        return out

    def threshold(self, language: str) -> float:
        return self.thresholds.get(language, self.thresholds.get("*", 0.5))

    def predict(self, texts: Sequence[str], languages: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities, 0/1 predictions) per text and frame."""
        probs = self.predict_proba(texts, languages)
        return probs, _apply(probs, np.array(languages), self.thresholds)

    def to_bytes(self) -> bytes:
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def from_bytes(blob: bytes) -> "FrameClassifier":
        # Only blobs this program wrote into its own database are unpickled.
        return pickle.loads(blob)


def _language_thresholds(probs: np.ndarray, y: np.ndarray, languages: np.ndarray) -> dict[str, float]:
    thresholds = {"*": _best_threshold(probs, y)}
    for language in sorted(set(languages)):
        mask = languages == language
        if mask.sum() >= MIN_LANGUAGE_EXAMPLES:
            thresholds[str(language)] = _best_threshold(probs[mask], y[mask])
    return thresholds


def _apply(probs: np.ndarray, languages: np.ndarray, thresholds: dict[str, float]) -> np.ndarray:
    cut = np.array([thresholds.get(lang, thresholds.get("*", 0.5)) for lang in languages])
    return (probs >= cut[:, None]).astype(int)


def evaluate(y_true: np.ndarray, y_pred: np.ndarray, frames: Sequence[str],
             languages: np.ndarray | None = None) -> dict:
    """Micro and macro F1, per-frame precision/recall/F1/support, and micro F1 per language."""
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, zero_division=0)
    report = {
        "micro_f1": float(f1_score(y_true, y_pred, average="micro", zero_division=0)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "n": int(len(y_true)),
        "per_frame": {frame: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                      for frame, p, r, f, s in zip(frames, precision, recall, f1, support)},
    }
    if languages is not None:
        report["per_language"] = {
            str(lang): float(f1_score(y_true[languages == lang], y_pred[languages == lang],
                                 average="micro", zero_division=0))
            for lang in sorted(set(languages))}
    return report


def check_frames(items: Sequence[LabelledArticle], frames: Sequence[str], source: str) -> None:
    """InputError listing labels that are not frames of the codebook."""
    unknown = sorted({f for item in items for f in item.frames} - set(frames))
    if unknown:
        raise InputError(f"{source}: frames not in the codebook: {', '.join(unknown)} "
                         f"(known: {', '.join(frames)})")


def train_for_codebook(path: str | Path, codebook) -> FrameClassifier:
    """Read a labelled file, check its frames against `codebook`, train with CV."""
    items = read_labelled(path)
    check_frames(items, codebook.ids, str(path))
    return FrameClassifier.train(items, codebook.ids)


def evaluate_file(model: FrameClassifier, path: str | Path) -> dict:
    items = read_labelled(path)
    check_frames(items, model.frames, str(path))
    _, predicted = model.predict([i.text for i in items], [i.language for i in items])
    return evaluate(label_matrix(items, model.frames), predicted, model.frames,
                    np.array([i.language for i in items]))


def predict_records(model: FrameClassifier, source: str | Path, target: str | Path) -> int:
    """Copy JSONL records from `source` to `target` adding `frames` and `frame_scores`."""
    source, target = Path(source), Path(target)
    items = read_labelled(source, require_frames=False)
    records = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    probs, predicted = model.predict([i.text for i in items], [i.language for i in items])
    try:
        with target.open("w", encoding="utf-8") as out:
            for record, p, flags in zip(records, probs, predicted):
                record["frames"] = [f for f, on in zip(model.frames, flags) if on]
                record["frame_scores"] = {f: round(float(v), 4) for f, v in zip(model.frames, p)}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise InputError(f"{target}: cannot write: {exc.strerror}") from None
    return len(records)
