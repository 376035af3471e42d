"""Named queries shared by the analysis jobs: articles to analyse, their cached tokens,
relevance results, trained models and small pieces of job state."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from monitor.store.schema import analysis_state, annotations, articles, models
from monitor.store.db import upsert


@dataclass(frozen=True)
class ArticleText:
    """What text analyses need of one article (tokens None when not cached or outdated)."""

    id: str
    title: str
    summary: str
    fulltext: str | None
    language: str
    tokens: list[str] | None
    tokens_version: int | None


@dataclass(frozen=True)
class StoredModel:
    name: str
    blob: bytes
    metrics: dict
    trained_at: datetime


def _now() -> datetime:
    return datetime.now(timezone.utc)


def execute_plain(conn: Connection, stmt: sa.Executable, rows: Sequence[Sequence[Any]],
                  columns: Sequence[str], chunk: int = 5000) -> None:
    """Run `stmt` once per row of values in `columns` order, handing the driver plain values
    (JSON already as text, as SQLAlchemy's JSON type writes it): for hundreds of thousands
    of rows SQLAlchemy's per-row parameter processing cost about as much as the database's
    work. Rows already in the driver's parameter order (sqlite3's) go as they are."""
    compiled = stmt.compile(dialect=conn.dialect)
    order = compiled.positiontup
    if order is None:   # named parameters (psycopg)
        params: Sequence = [dict(zip(columns, row)) for row in rows]
    elif list(order) == list(columns):
        params = rows
    else:
        at = [list(columns).index(name) for name in order]
        params = [tuple(row[i] for i in at) for row in rows]
    for start in range(0, len(params), chunk):
        conn.exec_driver_sql(compiled.string, params[start:start + chunk])


# --- articles and their token cache ---------------------------------------------------------

def iter_articles_for_relevance(engine: Engine, *, full: bool = False,
                                batch_size: int = 500) -> Iterator[list[ArticleText]]:
    """Batches of articles without a relevance score (every article when `full`), by id.

    Keyset pagination: the caller may update the rows of a batch before asking for the next."""
    cols = [articles.c.id, articles.c.title, articles.c.summary, articles.c.fulltext,
            articles.c.language, articles.c.tokens, articles.c.tokens_version]
    last = ""
    while True:
        query = sa.select(*cols).where(articles.c.id > last).order_by(articles.c.id).limit(batch_size)
        if not full:
            query = query.where(articles.c.relevance_score.is_(None))
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return
        yield [ArticleText(r.id, r.title or "", r.summary or "", r.fulltext, r.language or "und",
                           r.tokens, r.tokens_version) for r in rows]
        if len(rows) < batch_size:   # the last batch: no query (a scan of every article) for none
            return
        last = rows[-1].id


def tokens_json(tokens: Sequence[str]) -> str:
    """A token list as the text of the tokens column: compact UTF-8 JSON (orjson, several
    times faster than json.dumps, and about 40% shorter for Russian and Chinese than its
    escaped ASCII), so the analysis workers can encode it and the parent only writes it."""
    return orjson.dumps(list(tokens)).decode()


def save_relevance(engine: Engine, results: Sequence[dict[str, Any]]) -> int:
    """Store score, decision and reason: dicts with id, score, relevant, reason, and, for
    freshly tokenized articles only, tokens_json (from tokens_json()) and tokens_version
    (cached tokens are not rewritten). Returns how many articles were updated."""
    if not results:
        return 0
    verdict = {"relevance_score": sa.bindparam("b_score"), "relevant": sa.bindparam("b_relevant"),
               "relevance_reason": sa.bindparam("b_reason")}
    where = articles.c.id == sa.bindparam("b_id")
    with_tokens = articles.update().where(where).values(
        **verdict, tokens=sa.bindparam("b_tokens"), tokens_version=sa.bindparam("b_tokens_version"))
    without_tokens = articles.update().where(where).values(**verdict)
    verdict_columns = ("b_id", "b_score", "b_relevant", "b_reason")
    token_columns = (*verdict_columns, "b_tokens", "b_tokens_version")
    tokenized, scored = [], []
    for r in results:
        row = (r["id"], r["score"], r["relevant"], r["reason"])
        if "tokens_json" in r:
            tokenized.append((*row, r["tokens_json"], r["tokens_version"]))
        else:
            scored.append(row)
    with engine.begin() as conn:
        for stmt, rows, columns in ((with_tokens, tokenized, token_columns), (without_tokens, scored, verdict_columns)):
            if rows:
                execute_plain(conn, stmt, rows, columns)
    return len(results)


def load_tokens(engine: Engine, ids: Sequence[str], version: int) -> dict[str, list[str]]:
    """Cached tokens of these articles, only where computed by tokenizer `version`."""
    out: dict[str, list[str]] = {}
    ids = list(ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        query = (sa.select(articles.c.id, articles.c.tokens)
                 .where(articles.c.id.in_(chunk)).where(articles.c.tokens_version == version))
        with engine.connect() as conn:
            out.update({r.id: r.tokens for r in conn.execute(query) if r.tokens is not None})
    return out


def relevance_labels(engine: Engine) -> list[dict[str, Any]]:
    """Relevance labels made in the dashboard (the latest per article), with article text.

    An annotation of kind "relevance" holds {"relevant": true|false}."""
    latest = (sa.select(annotations.c.article_id, sa.func.max(annotations.c.id).label("last_id"))
              .where(annotations.c.kind == "relevance").group_by(annotations.c.article_id).subquery())
    query = (sa.select(articles.c.id, articles.c.title, articles.c.summary, articles.c.fulltext,
                       articles.c.language, annotations.c.value)
             .join(latest, latest.c.article_id == articles.c.id)
             .join(annotations, annotations.c.id == latest.c.last_id)
             .order_by(articles.c.id))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    out = []
    for r in rows:
        value = r.value if isinstance(r.value, dict) else {"relevant": r.value}
        if isinstance(value.get("relevant"), bool):
            text = "\n".join(p for p in (r.summary, r.fulltext) if p)
            out.append({"id": r.id, "title": r.title, "text": text, "language": r.language,
                        "relevant": value["relevant"]})
    return out


# --- models and job state -------------------------------------------------------------------

def save_model(engine: Engine, name: str, blob: bytes, metrics: dict | None = None) -> None:
    """Store (or replace) a trained model under `name`."""
    with engine.begin() as conn:
        upsert(conn, models, [{"name": name, "blob": blob, "metrics": metrics or {},
                               "trained_at": _now()}], ["name"])


def load_model(engine: Engine, name: str) -> StoredModel | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(models).where(models.c.name == name)).first()
    return StoredModel(row.name, bytes(row.blob), row.metrics or {}, row.trained_at) if row else None


def get_state(engine: Engine, key: str) -> Any:
    """A job's remembered value (None when never set)."""
    with engine.connect() as conn:
        return conn.execute(sa.select(analysis_state.c.value).where(analysis_state.c.key == key)).scalar()


def set_state(engine: Engine, key: str, value: Any) -> None:
    with engine.begin() as conn:
        upsert(conn, analysis_state, [{"key": key, "value": value, "updated_at": _now()}], ["key"])
