"""Retraining from the dashboard's labels and reporting the new cross-validated quality.

The training itself belongs to the analysis modules (analyze.jobs.relevance for the
relevance classifier, analyze.frame_model for frames); this module calls them and turns
their user errors (too few labels, one class only) into a message for the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd
from sqlalchemy.engine import Engine

from monitor.config import Frames, Settings
from monitor.errors import MonitorError


@dataclass
class Retrained:
    model: str = ""
    metrics: dict = field(default_factory=dict)
    error: str | None = None

    def as_row(self) -> dict:
        return {"name": self.model, "metrics": self.metrics, "trained_at": datetime.now(timezone.utc)}


def retrain(engine: Engine, settings: Settings | None, kind: str) -> Retrained:
    """Train the relevance or frames classifier on every dashboard label and store it."""
    try:
        return _relevance(engine) if kind == "relevance" else _frames(engine, settings)
    except (MonitorError, ValueError) as exc:
        return Retrained(error=f"cannot retrain the {kind} classifier: {exc}")


def _relevance(engine: Engine) -> Retrained:
    from monitor.analyze.jobs.relevance import MODEL_NAME, train_and_store

    summary = train_and_store(engine)
    return Retrained(model=MODEL_NAME, metrics={"cross_validated": summary["cv"], "examples": summary["examples"]})


def _frames(engine: Engine, settings: Settings | None) -> Retrained:
    from monitor.analyze.codebook import codebook_for
    from monitor.analyze.frame_model import FrameClassifier, LabelledArticle
    from monitor.analyze.jobs.framing import model_name
    from monitor.store.framing import frame_labels, save_model

    book = codebook_for(settings.frames if settings else Frames())
    with engine.connect() as conn:
        labelled = frame_labels(conn)
    items = [LabelledArticle(id=row["id"], text=f"{row['title']}\n{row['text'] or ''}", language=row["language"],
                             frames=tuple(f for f in row["frames"] if f in book.ids)) for row in labelled]
    model = FrameClassifier.train(items, book.ids)
    with engine.begin() as conn:
        save_model(conn, model_name(book), model.to_bytes(), model.cv)
    return Retrained(model=model_name(book), metrics=model.cv)


def metrics_table(rows: list[dict]) -> pd.DataFrame:
    """One line per model with its headline cross-validated figures."""
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
