"""Named queries about articles and the feeds that carried them (ingest's side)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import fields
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.models import Article
from monitor.store.db import chunks, insert_ignore
from monitor.store.schema import article_feeds, articles, feeds




def existing_ids(conn: Connection, ids: Iterable[str]) -> set[str]:
    """Which of these article ids are stored already."""
    found: set[str] = set()
    for chunk in chunks(list(set(ids))):
        found.update(conn.execute(sa.select(articles.c.id).where(articles.c.id.in_(chunk))).scalars())
    return found


def ids_by_url(conn: Connection, urls: Iterable[str]) -> dict[str, str]:
    """canonical URL -> id of the stored article with that URL (the first stored, if several)."""
    found: dict[str, str] = {}
    wanted = sorted({u for u in urls if u})
    for chunk in chunks(wanted):
        rows = conn.execute(sa.select(articles.c.url, articles.c.id)
                            .where(articles.c.url.in_(chunk))
                            .order_by(articles.c.fetched_at, articles.c.id))
        for url, article_id in rows:
            found.setdefault(url, article_id)
    return found


def article_row(article: Article, *, minhash: bytes | None, duplicate_of: str | None,
                duplicate_similarity: float | None, fulltext_error: str | None = None) -> dict:
    """The articles-table row of an Article plus its dedup columns."""
    row = {f.name: getattr(article, f.name) for f in fields(article)}   # shallow: no deepcopy
    row["group_name"] = row.pop("group")
    row["categories"] = list(article.categories)
    row.update(minhash=minhash, duplicate_of=duplicate_of,
               duplicate_similarity=duplicate_similarity, fulltext_error=fulltext_error)
    return row


def insert_articles(conn: Connection, rows: list[dict]) -> int:
    """Insert new articles (existing ids are left untouched); return how many were new."""
    return insert_ignore(conn, articles, rows, ["id"])


def link_to_feed(conn: Connection, article_ids: Iterable[str], feed_id: int, seen_at: datetime) -> int:
    """Record that a feed carried these articles; return how many links were new."""
    rows = [{"article_id": a, "feed_id": feed_id, "first_seen_at": seen_at}
            for a in dict.fromkeys(article_ids)]
    return insert_ignore(conn, article_feeds, rows, ["article_id", "feed_id"])


def demote_to_duplicate(conn: Connection, old_id: str, original_id: str, similarity: float) -> None:
    """An earlier-published near-copy arrived: `old_id` and its copies now point at it."""
    conn.execute(articles.update().where(articles.c.duplicate_of == old_id)
                 .values(duplicate_of=original_id))
    conn.execute(articles.update().where(articles.c.id == old_id)
                 .values(duplicate_of=original_id, duplicate_similarity=similarity))


def original_signatures(conn: Connection, start: datetime, end: datetime
                        ) -> Iterator[tuple[str, datetime, bytes]]:
    """(id, published_at, minhash) of non-duplicate articles published in [start, end]."""
    query = (sa.select(articles.c.id, articles.c.published_at, articles.c.minhash)
             .where(articles.c.published_at >= start, articles.c.published_at <= end,
                    articles.c.duplicate_of.is_(None), articles.c.minhash.is_not(None)))
    for row in conn.execute(query):
        yield row.id, row.published_at, row.minhash


def set_parse_warning(conn: Connection, feed_id: int, warning: str | None) -> None:
    conn.execute(feeds.update().where(feeds.c.id == feed_id).values(parse_warning=warning))


def feeds_of(conn: Connection, article_id: str) -> list[str]:
    """Names of the feeds that carried an article, sorted."""
    query = (sa.select(feeds.c.name).join(article_feeds, article_feeds.c.feed_id == feeds.c.id)
             .where(article_feeds.c.article_id == article_id).order_by(feeds.c.name))
    return list(conn.execute(query).scalars())


def count_articles(conn: Connection, *, originals_only: bool = False) -> int:
    query = sa.select(sa.func.count()).select_from(articles)
    if originals_only:
        query = query.where(articles.c.duplicate_of.is_(None))
    return int(conn.execute(query).scalar() or 0)
