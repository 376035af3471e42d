"""The storage spine: migrations, UTC round trips and idempotent feed sync on both backends."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from monitor.errors import StorageError
from monitor.models import FeedRef
from monitor.store import open_engine
from monitor.store.db import LATEST_VERSION, insert_ignore, migrate
from monitor.store.feeds import ensure_feed, sync_feeds
from monitor.store.schema import articles, feeds, schema_version


def _article(article_id: str, published: datetime) -> dict:
    return {"id": article_id, "url": f"https://example.org/{article_id}", "title": "t",
            "published_at": published, "fetched_at": published, "categories": ["a", "б"]}


def test_migrations_are_applied_once(db_url):
    engine = open_engine(db_url)
    assert migrate(engine) == LATEST_VERSION   # a second open changes nothing
    with engine.connect() as conn:
        versions = conn.execute(sa.select(schema_version.c.version)).scalars().all()
    assert versions == list(range(1, LATEST_VERSION + 1))


def test_datetimes_round_trip_as_utc(db_url):
    engine = open_engine(db_url)
    moscow = timezone(timedelta(hours=3))
    when = datetime(2018, 3, 16, 12, 0, tzinfo=moscow)
    with engine.begin() as conn:
        conn.execute(articles.insert().values(**_article("a1", when)))
    with engine.connect() as conn:
        row = conn.execute(sa.select(articles.c.published_at, articles.c.categories)).one()
    assert row.published_at == when
    assert row.published_at.tzinfo is not None and row.published_at.utcoffset() == timedelta(0)
    assert row.published_at.hour == 9
    assert row.categories == ["a", "б"]


def test_naive_datetimes_are_refused(db_url):
    engine = open_engine(db_url)
    with pytest.raises(sa.exc.StatementError):
        with engine.begin() as conn:
            conn.execute(articles.insert().values(**_article("a1", datetime(2020, 1, 1))))


def test_insert_ignore_keeps_one_row_per_key(db_url):
    engine = open_engine(db_url)
    when = datetime(2020, 1, 1, tzinfo=timezone.utc)
    with engine.begin() as conn:
        insert_ignore(conn, articles, [_article("a1", when), _article("a2", when)], ["id"])
        insert_ignore(conn, articles, [_article("a1", when)], ["id"])
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(articles)).scalar() == 2


def test_sync_feeds_is_idempotent_and_disables_removed_feeds(db_url):
    engine = open_engine(db_url)
    a = FeedRef(name="a", url="https://a.example/rss", outlet="A", group="western")
    b = FeedRef(name="b", url="https://b.example/rss", outlet="B", group="russian", language="ru")
    with engine.begin() as conn:
        first = sync_feeds(conn, [(a, True), (b, True)])
    with engine.begin() as conn:
        again = sync_feeds(conn, [(a, True)])
        assert ensure_feed(conn, a) == first["a"]
    assert again == {"a": first["a"]}
    with engine.connect() as conn:
        rows = {r.name: r for r in conn.execute(sa.select(feeds))}
    assert rows["a"].enabled and not rows["b"].enabled
    assert rows["b"].language == "ru" and rows["b"].group_name == "russian"


def test_relevance_results_and_fresh_tokens_are_saved(db_url):
    from monitor.store.analysis import iter_articles_for_relevance, save_relevance, tokens_json

    engine = open_engine(db_url)
    now = datetime(2024, 5, 1, tzinfo=timezone.utc)
    with engine.begin() as conn:
        conn.execute(articles.insert(), [
            {"id": f"a{i}", "url": f"https://example.org/{i}", "title": f"t{i}", "summary": "",
             "language": "zh", "published_at": now, "fetched_at": now} for i in range(3)])
    tokens = ["社会信用体系", "система", "o'brien", "\"quoted\""]
    saved = save_relevance(engine, [
        {"id": "a0", "score": 0.85, "relevant": True, "reason": "include: 社会信用体系",
         "tokens_json": tokens_json(tokens), "tokens_version": 7},
        {"id": "a1", "score": 0.0, "relevant": False, "reason": "no topic term"}])
    assert saved == 2
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(sa.select(
            articles.c.id, articles.c.relevance_score, articles.c.relevant,
            articles.c.relevance_reason, articles.c.tokens, articles.c.tokens_version))}
    assert rows["a0"].tokens == tokens and rows["a0"].tokens_version == 7
    assert (rows["a0"].relevance_score, rows["a0"].relevant, rows["a0"].relevance_reason) == (
        0.85, True, "include: 社会信用体系")
    assert rows["a1"].tokens is None and rows["a1"].relevant is False
    assert rows["a2"].relevance_score is None
    assert [a.id for batch in iter_articles_for_relevance(engine) for a in batch] == ["a2"]
    for size, sizes in ((1, [1, 1, 1]), (2, [2, 1]), (3, [3]), (4, [3])):
        batches = list(iter_articles_for_relevance(engine, full=True, batch_size=size))
        assert [len(b) for b in batches] == sizes
        assert [a.id for b in batches for a in b] == ["a0", "a1", "a2"]
    assert tokens_json(("a", "б")) == '["a","б"]'


def test_unreachable_database_is_a_storage_error(tmp_path):
    with pytest.raises(StorageError, match="does not exist"):
        open_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    with pytest.raises(StorageError, match="cannot open the database"):
        open_engine("postgresql://nobody@127.0.0.1:1/none")
