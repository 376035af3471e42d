"""SemEval-2023 Task 3 subtask 2 (14 generic frames): train on train, micro-F1 on dev.

    .venv/bin/python benchmarks/bench_semeval_frames.py [--data ../shared/data/semeval2023_task3_subtask2_frames]

Trains one FrameClassifier on the train split of all six languages (C and per-language
thresholds chosen by 5-fold CV on train only), then scores the dev split. Also prints the
baseline the issue quotes: per-language TF-IDF + logistic regression at threshold 0.5.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.analyze.codebook import load_builtin  # noqa: E402
from monitor.analyze.frame_model import FrameClassifier, LabelledArticle, label_matrix  # noqa: E402

LANGUAGES = {"en": "en", "fr": "fr", "ge": "de", "it": "it", "po": "pl", "ru": "ru"}
REPORTED = ("en", "ru")


def load_split(data: Path, folder: str, split: str) -> list[LabelledArticle]:
    labels = data / "data" / folder / (f"{split}-labels-subtask-2.txt" if split == "train"
                                      else f"{split}-labels-subtask-2.DERIVED.txt")
    items = []
    for line in labels.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        article_id, _, frames = line.partition("\t")
        text = (data / "data" / folder / f"{split}-articles-subtask-2" / f"article{article_id}.txt")
        items.append(LabelledArticle(id=article_id, text=text.read_text(encoding="utf-8"),
                                     language=LANGUAGES[folder],
                                     frames=tuple(f for f in frames.strip().split(",") if f)))
    return items


def baseline(train, dev, frames) -> float:
    """Plain TF-IDF + logistic regression, one language, threshold 0.5."""
    vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2)
    x_train = vectorizer.fit_transform([i.text for i in train])
    x_dev = vectorizer.transform([i.text for i in dev])
    y_train, y_dev = label_matrix(train, frames), label_matrix(dev, frames)
    predicted = np.zeros_like(y_dev)
    for j in range(len(frames)):
        if 0 < y_train[:, j].sum() < len(y_train):
            predicted[:, j] = LogisticRegression(max_iter=2000).fit(x_train, y_train[:, j]).predict(x_dev)
    return float(f1_score(y_dev, predicted, average="micro", zero_division=0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" /
                        "semeval2023_task3_subtask2_frames")
    args = parser.parse_args()
    frames = load_builtin("policy-frames").ids
    train = [i for f in LANGUAGES for i in load_split(args.data, f, "train")]
    dev = [i for f in LANGUAGES for i in load_split(args.data, f, "dev")]
    started = time.perf_counter()
    model = FrameClassifier.train(train, frames)
    trained = time.perf_counter() - started
    _, predicted = model.predict([i.text for i in dev], [i.language for i in dev])
    y_dev = label_matrix(dev, frames)
    languages = np.array([i.language for i in dev])
    print(f"trained on {len(train)} articles in {trained:.0f} s; CV chose C={model.c}, "
          f"thresholds {model.thresholds}")
    print(f"{'language':10s} {'cv(train)':>10s} {'dev':>6s} {'baseline dev':>13s}")
    for lang in REPORTED:
        mask = languages == lang
        dev_f1 = f1_score(y_dev[mask], predicted[mask], average="micro", zero_division=0)
        base = baseline([i for i in train if i.language == lang], [i for i in dev if i.language == lang], frames)
        print(f"{lang:10s} {model.cv['per_language'][lang]:10.3f} {dev_f1:6.3f} {base:13.3f}")
    print(f"all six languages, dev micro-F1: "
          f"{f1_score(y_dev, predicted, average='micro', zero_division=0):.3f}")


if __name__ == "__main__":
    main()
