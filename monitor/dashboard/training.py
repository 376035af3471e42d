"""Retraining from the dashboard's labels and reporting the new cross-validated quality.

The classifiers are the analysis modules' own (analyze.relevance, analyze.frame_model);
this module only gathers the labels from the store, trains, and saves the model with
its metrics in the models table, where `monitor analyze` picks it up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd
from sqlalchemy.engine import Engine

from monitor.config import Settings
from monitor.errors import MonitorError
from monitor.store import views


@dataclass
class Retrained:
    model: str = ""
    metrics: dict = field(default_factory=dict)
    error: str | None = None

    def as_row(self) -> dict:
        return {"name": self.model, "metrics": self.metrics, "trained_at": datetime.now(timezone.utc)}


def retrain(engine: Engine, settings: Settings | None, kind: str) -> Retrained:
    """Train the relevance or frames classifier on every dashboard label; never raises for
    a user problem (too few labels, one class only): the error is returned for display."""
    with engine.connect() as conn:
        labelled = views.labelled_articles(conn, kind)
    try:
        name, blob, metrics = (_relevance(labelled) if kind == "relevance"
                               else _frames(labelled, settings))
    except (MonitorError, ValueError) as exc:
        return Retrained(error=f"cannot retrain on {len(labelled)} {kind} labels: {exc}")
    with engine.begin() as conn:
        views.save_model(conn, name, blob, metrics, datetime.now(timezone.utc))
    return Retrained(model=name, metrics=metrics)


def _relevance(labelled: list[dict]) -> tuple[str, bytes, dict]:
    from monitor.analyze import relevance

    examples = relevance.with_tokens([relevance.example_from_row(
        {"id": row["id"], "title": row["title"], "text": row["summary"], "language": row["language"],
         "relevant": bool(row["value"].get("relevant"))}) for row in labelled])
    probabilities = relevance.cross_validated_probabilities(examples)
    quality = relevance.per_language_scores(examples, [p >= 0.5 for p in probabilities])
    model = relevance.train(examples)
    return "relevance", model.to_blob(), {"cross_validated": quality, "examples": len(examples),
                                          "source": "dashboard labels"}


def _frames(labelled: list[dict], settings: Settings | None) -> tuple[str, bytes, dict]:
    from monitor.analyze.codebook import codebook_for
    from monitor.analyze.frame_model import FrameClassifier, LabelledArticle
    from monitor.config import Frames

    codebook = codebook_for(settings.frames if settings else Frames())
    items = [LabelledArticle(id=row["id"], text=f"{row['title']}\n{row['summary']}", language=row["language"],
                             frames=tuple(row["value"].get("frames") or ())) for row in labelled]
    model = FrameClassifier.train(items, codebook.ids)
    return f"frames:{codebook.name}", model.to_bytes(), {**model.cv, "source": "dashboard labels"}


def metrics_table(rows: list[dict]) -> pd.DataFrame:
    """One line per model: its headline cross-validated figures, readable at a glance."""
    out = []
    for row in rows:
        metrics = row.get("metrics") or {}
        overall = (metrics.get("cross_validated") or {}).get("all", {})
        out.append({"model": row["name"], "trained": row["trained_at"],
                    "examples": metrics.get("examples", metrics.get("n", overall.get("n"))),
                    "F1": overall.get("f1", metrics.get("f1", metrics.get("micro_f1"))),
                    "precision": overall.get("precision", metrics.get("precision")),
                    "recall": overall.get("recall", metrics.get("recall")),
                    "macro F1": metrics.get("macro_f1")})
    return pd.DataFrame(out, columns=["model", "trained", "examples", "F1", "precision", "recall", "macro F1"])
