"""The fetch run end to end: real loopback servers, real databases, the real pipeline."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

from monitor.config import Feed, Fetch, Settings, Topic
from monitor.ingest.runner import FetchOptions, run_fetch
from monitor.store import open_engine
from monitor.store.feeds import utcnow
from monitor.store.schema import articles, feeds, fetches
from test_fetch_support import ITEM, RSS, Server, conditional, rss, static

FAST = Fetch(connect_timeout=1, read_timeout=1, total_timeout=2, max_bytes=200_000, retries=0,
             host_delay=0, per_host=2, concurrency=8)
TOPIC = Topic(name="Social credit", languages=("en", "ru"),
              include={"en": ("social credit", "blacklist"), "ru": ("социальный кредит",)})
ALL = FetchOptions(all_feeds=True, retry_base_s=0.01)


def settings(*feed_list: Feed, fetch: Fetch = FAST) -> Settings:
    return Settings(topic=TOPIC, feeds=feed_list, fetch=fetch)


def feed(name: str, url: str, **extra) -> Feed:
    return Feed(name=name, url=url, outlet=name.title(), language=extra.pop("language", "en"), **extra)


def feed_row(engine, name: str):
    with engine.connect() as conn:
        return conn.execute(sa.select(feeds).where(feeds.c.name == name)).one()


def attempts(engine, name: str) -> list:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(fetches).join(feeds, feeds.c.id == fetches.c.feed_id)
                                 .where(feeds.c.name == name).order_by(fetches.c.id)))


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_fetch_stores_articles_then_304_on_the_second_run(db_url):
    engine = open_engine(db_url)
    with Server({"/a": conditional(rss("A", 3, "a"), '"a1"'),
                 "/b": conditional(rss("B", 2, "b"), '"b1"')}) as server:
        config = settings(feed("a", server.url("/a")), feed("b", server.url("/b")))
        first = run_fetch(engine, config, ALL)
        second = run_fetch(engine, config, ALL)
    assert (first.ok, first.not_modified, first.failed, first.new_articles) == (2, 0, 0, 5)
    assert (second.ok, second.not_modified, second.failed, second.new_articles) == (0, 2, 0, 0)
    assert count(engine, articles) == 5
    log = attempts(engine, "a")
    assert [(a.outcome, a.status, a.new_items, a.total_items) for a in log] == [
        ("ok", 200, 3, 3), ("not_modified", 304, 0, 0)]
    assert log[0].bytes == len(rss("A", 3, "a")) and log[0].url == server.url("/a")
    row = feed_row(engine, "a")
    assert row.etag == '"a1"' and row.consecutive_failures == 0 and row.last_success_at is not None


def test_only_due_feeds_are_fetched_unless_forced(sqlite_url):
    engine = open_engine(sqlite_url)
    with Server({"/a": static(rss("A")), "/b": static(rss("B", prefix="b"))}) as server:
        config = settings(feed("a", server.url("/a")), feed("b", server.url("/b")))
        run_fetch(engine, config, FetchOptions())
        again = run_fetch(engine, config, FetchOptions())
        forced = run_fetch(engine, config, FetchOptions(feed="b", force=True))
    assert again.feeds == 0                       # both polled a moment ago: not due
    assert forced.feeds == 1 and server.hits("/a") == 1 and server.hits("/b") == 2
    row = feed_row(engine, "a")
    assert row.next_due_at >= utcnow() + timedelta(minutes=29)   # the feed's min interval


def test_one_broken_feed_never_stops_the_run(sqlite_url):
    engine = open_engine(sqlite_url)
    routes = {"/ok": static(rss("Fine")), "/gone": static(b"", 410), "/html": static(
        b"<!doctype html><html><head><title>Shop</title></head><body><p>Buy</p></body></html>",
        headers={"Content-Type": "text/html; charset=utf-8"}), "/error": static(b"", 500)}
    with Server(routes) as server:
        config = settings(*(feed(path.strip("/"), server.url(path)) for path in routes))
        report = run_fetch(engine, config, ALL)
    assert (report.ok, report.failed) == (1, 3)
    gone, html, error = feed_row(engine, "gone"), feed_row(engine, "html"), feed_row(engine, "error")
    assert (gone.last_error_class, gone.flagged, gone.last_status) == ("gone", True, 410)
    assert (html.last_error_class, html.flagged) == ("not_a_feed", True)
    assert (error.last_error_class, error.flagged) == ("server_error", False)
    # a permanent failure waits at least the maximum interval, a transient one less
    assert gone.next_due_at - gone.last_attempt_at >= timedelta(hours=24 * 0.8)
    assert error.next_due_at - error.last_attempt_at <= timedelta(minutes=30 * 1.2)
    assert gone.enabled   # flagged, never dropped


def test_a_301_updates_the_stored_url(sqlite_url):
    engine = open_engine(sqlite_url)
    with Server() as server:
        server.routes["/old"] = lambda h: __import__("test_fetch_support").send(
            h, 301, b"", {"Location": server.url("/new")})
        server.routes["/new"] = static(rss("Moved"))
        config = settings(feed("moved", server.url("/old")))
        report = run_fetch(engine, config, ALL)
        run_fetch(engine, config, ALL)
    row = feed_row(engine, "moved")
    assert row.url == server.url("/new") and row.config_url == server.url("/old")
    assert any("moved permanently" in w and server.url("/new") in w for w in report.warnings)
    assert server.hits("/old") == 1 and server.hits("/new") == 2   # the second run went direct


def test_429_retry_after_pushes_the_next_poll(sqlite_url):
    engine = open_engine(sqlite_url)
    with Server({"/busy": static(b"", 429, {"Retry-After": "7200"})}) as server:
        run_fetch(engine, settings(feed("busy", server.url("/busy"))), ALL)
    row = feed_row(engine, "busy")
    assert row.last_error_class == "rate_limited" and row.consecutive_failures == 1
    assert row.next_due_at - row.last_attempt_at >= timedelta(seconds=7200)
    assert not row.flagged


def test_repeated_404_flags_the_feed(sqlite_url):
    engine = open_engine(sqlite_url)
    with Server() as server:
        config = settings(feed("lost", server.url("/lost")))
        flags = []
        for _ in range(3):
            run_fetch(engine, config, ALL)
            flags.append(feed_row(engine, "lost").flagged)
    assert flags == [False, False, True]
    assert feed_row(engine, "lost").consecutive_failures == 3


def test_transient_errors_are_retried_within_the_run(sqlite_url):
    engine = open_engine(sqlite_url)
    answers = iter([503, 200])

    def flaky(handler):
        from test_fetch_support import send
        status = next(answers)
        send(handler, status, rss("Flaky") if status == 200 else b"")

    with Server({"/flaky": flaky}) as server:
        config = settings(feed("flaky", server.url("/flaky")), fetch=FAST.model_copy(update={"retries": 2}))
        report = run_fetch(engine, config, ALL)
    assert report.ok == 1 and report.failed == 0
    assert [a.outcome for a in attempts(engine, "flaky")] == ["retried", "ok"]


def test_wrong_declared_charset_still_gives_readable_titles(sqlite_url):
    engine = open_engine(sqlite_url)
    body = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Лента</title>'
            '<item><title>Социальный кредит в Китае</title><link>http://example.org/ru1</link>'
            '<pubDate>Mon, 02 Mar 2020 10:00:00 GMT</pubDate></item></channel></rss>').encode()
    headers = {"Content-Type": "text/xml; charset=iso-8859-1"}   # a lie: the body is UTF-8
    with Server({"/ru": static(body, headers=headers)}) as server:
        report = run_fetch(engine, settings(feed("ru", server.url("/ru"), language="ru")), ALL)
    assert report.ok == 1
    with engine.connect() as conn:
        titles = conn.execute(sa.select(articles.c.title)).scalars().all()
    assert titles == ["Социальный кредит в Китае"]


def test_per_host_limit_as_seen_by_the_server(sqlite_url):
    engine = open_engine(sqlite_url)
    busy, other = Server(), Server()
    for i in range(8):
        busy.routes[f"/f{i}"] = static(rss(f"F{i}", 1, f"f{i}-"), delay=0.15)
        other.routes[f"/g{i}"] = static(rss(f"G{i}", 1, f"g{i}-"), delay=0.15)
    with busy, other:
        config = settings(*(feed(f"f{i}", busy.url(f"/f{i}")) for i in range(8)),
                          *(feed(f"g{i}", other.url(f"/g{i}")) for i in range(8)))
        report = run_fetch(engine, config, ALL)
    assert report.ok == 16
    assert busy.max_in_flight == 2 and other.max_in_flight == 2   # limit reached, never passed


def test_search_feeds_are_expanded_per_topic_language(sqlite_url):
    engine = open_engine(sqlite_url)
    with Server({"/search": static(rss("Search", 1, "s"))}) as server:
        search = Feed(name="news-search", url=server.url("/search") + "?q={query}&x=1", group="search")
        report = run_fetch(engine, settings(search), ALL)
    assert report.ok == 2
    queries = sorted(parse_qs(urlsplit(path).query)["q"][0] for path, _ in server.requests)
    assert queries == ['"social credit" OR blacklist', '"социальный кредит"']
    with engine.connect() as conn:
        names = conn.execute(sa.select(feeds.c.name, feeds.c.language).order_by(feeds.c.name)).all()
    assert [tuple(n) for n in names] == [("news-search:en", "en"), ("news-search:ru", "ru")]


def test_file_feeds_go_through_the_same_path(sqlite_url, tmp_path):
    engine = open_engine(sqlite_url)
    (tmp_path / "local.xml").write_bytes(rss("Local", 4, "l"))
    config = Settings(topic=TOPIC, feeds=(feed("local", "file:local.xml"),), fetch=FAST,
                      source=str(tmp_path / "feeds.yaml"))   # relative to feeds.yaml's folder
    first = run_fetch(engine, config, ALL)
    second = run_fetch(engine, config, ALL)
    assert (first.ok, first.new_articles, second.not_modified) == (1, 4, 1)   # hash unchanged


def test_fulltext_pages_keep_the_per_host_limit_and_gap(db_url):
    """Article pages of fulltext feeds are fetched under the same politeness as feeds: the
    page server never sees more than per_host requests at once, nor two starts closer than
    host_delay."""
    engine = open_engine(db_url)
    page = ("<html><body><article><h1>The draft law</h1>"
            + "".join(f"<p>Paragraph {n}: the draft social credit law sets out the duties of credit "
                      f"agencies and the rights of those listed, point {n}.</p>" for n in range(6))
            + "</article></body></html>").encode()
    starts: list[float] = []

    def timed_page(handler):
        starts.append(time.monotonic())
        static(page, headers={"Content-Type": "text/html"}, delay=0.05)(handler)

    pages = Server({f"/p{i}": timed_page for i in range(12)})
    with pages, Server() as feeds_server:
        for n in range(4):
            items = "".join(ITEM.format(title=f"Social credit story {n}-{i}", slug=f"s{n}{i}")
                            .replace(f"http://example.org/s{n}{i}", pages.url(f"/p{3 * n + i}"))
                            for i in range(3))
            feeds_server.routes[f"/f{n}"] = static(RSS.format(title=f"F{n}", items=items).encode())
        polite = Fetch(connect_timeout=1, read_timeout=2, total_timeout=4, max_bytes=200_000,
                       retries=0, host_delay=0.1, per_host=1, concurrency=8)
        config = settings(*(feed(f"f{n}", feeds_server.url(f"/f{n}"), fulltext=True) for n in range(4)),
                          fetch=polite)
        report = run_fetch(engine, config, ALL)
    assert report.ok == 4 and report.new_articles == 12
    assert len(starts) == 12 and pages.max_in_flight == 1
    gaps = [b - a for a, b in zip(sorted(starts), sorted(starts)[1:])]
    assert min(gaps) >= 0.09   # host_delay, less the clock's granularity
    with engine.connect() as conn:
        texts = conn.execute(sa.select(articles.c.fulltext)).scalars().all()
    assert all(text and "rights of those listed" in text for text in texts)
