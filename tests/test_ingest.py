"""Storing documents: one transaction per document, exact and near dedup across feeds and
runs, parse warnings, `monitor ingest`, and full text from a local HTTP server."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.cli import main
from monitor.errors import PermanentFetchError
from monitor.ingest.fulltext import extract_text
from monitor.ingest.pipeline import reset_near_duplicate_index, store_document
from monitor.models import FeedRef
from monitor.store import open_engine
from monitor.store.articles import count_articles, feeds_of
from monitor.store.feeds import ensure_feed
from monitor.store.schema import articles, feeds

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
XML = {"content-type": "application/rss+xml"}
NOW = datetime(2024, 3, 1, 12, tzinfo=timezone.utc)
WIRE = ("Chinese regulators on Tuesday published a draft law that would give the social credit "
        "system a legal basis for the first time, setting rules for how public bodies collect, "
        "share and correct records about companies and individuals across the country.")


def rss(*items: tuple[str, str, str]) -> bytes:
    """An RSS 2.0 document of (guid, link, description) items dated 2024-03-01."""
    body = "".join(f"<item><guid>{g}</guid><title>Draft law</title><link>{link}</link>"
                   f"<description>{text}</description><pubDate>Fri, 01 Mar 2024 08:00:00 GMT</pubDate></item>"
                   for g, link, text in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{body}</channel></rss>'.encode()


@pytest.fixture
def engine(db_url):
    engine = open_engine(db_url)
    yield engine
    reset_near_duplicate_index(engine)
    engine.dispose()


def feed(engine, name: str) -> tuple[int, FeedRef]:
    ref = FeedRef(name=name, url=f"https://{name}.example/rss", outlet=name.title(), group="western")
    with engine.begin() as conn:
        return ensure_feed(conn, ref), ref


def store(engine, name: str, body: bytes, when: datetime = NOW):
    feed_id, ref = feed(engine, name)
    return store_document(engine, feed_id, ref, body, XML, fetched_at=when, base_url=ref.url)


def rows(engine):
    with engine.connect() as conn:
        return {r.id: r for r in conn.execute(sa.select(articles))}


def test_store_document_outcome_and_row(engine):
    outcome = store(engine, "daily", (FEEDS / "rss20.xml").read_bytes())
    assert (outcome.new_items, outcome.total_items, outcome.problem, outcome.kind,
            outcome.ttl_minutes, outcome.title) == (2, 2, None, "rss20", 45, "Daily Example")
    stored = {r.url: r for r in rows(engine).values()}
    first = stored["https://daily.example/world/1001?b=2&id=7"]
    assert first.published_at == datetime(2019, 3, 5, 6, 30, tzinfo=timezone.utc)
    assert (first.language, first.language_source, first.outlet, first.group_name) == \
        ("en", "declared", "Daily", "western")
    assert first.categories == ["China", "Business"]
    assert first.fetched_at == NOW and len(first.minhash) == 257
    assert stored["https://daily.example/world/1002"].minhash is None   # too short to compare


def test_same_article_from_two_feeds_is_stored_once_and_linked_to_both(engine):
    doc = rss(("https://wire.example/1", "https://wire.example/1?utm_source=a", WIRE))
    assert store(engine, "alpha", doc).new_items == 1
    assert store(engine, "beta", doc).new_items == 0
    assert store(engine, "alpha", doc).new_items == 0      # re-fetch never duplicates
    (article_id,) = rows(engine)
    with engine.connect() as conn:
        assert feeds_of(conn, article_id) == ["alpha", "beta"]


def test_same_canonical_url_under_another_guid_is_the_same_article(engine):
    store(engine, "alpha", rss(("tag:a,2024:1", "https://wire.example/1", WIRE)))
    outcome = store(engine, "beta", rss(("urn:b:1", "https://WIRE.example/1?fbclid=x#top", WIRE)))
    assert outcome.new_items == 0
    assert len(rows(engine)) == 1


def test_duplicate_guids_in_one_document(engine):
    outcome = store(engine, "dups", (FEEDS / "duplicate_guids.xml").read_bytes())
    assert (outcome.total_items, outcome.new_items) == (3, 1)
    (only,) = rows(engine).values()
    assert only.title == "First copy"


def test_near_duplicate_across_feeds_and_runs(engine):
    store(engine, "alpha", rss(("a-1", "https://alpha.example/1", WIRE)))
    reset_near_duplicate_index(engine)   # a later run: signatures come from the database
    edited = WIRE.replace("on Tuesday", "on Wednesday")
    outcome = store(engine, "beta", rss(("b-1", "https://beta.example/9", edited)),
                    when=NOW + timedelta(hours=5))
    assert (outcome.new_items, outcome.duplicates) == (1, 1)
    by_url = {r.url: r for r in rows(engine).values()}
    original, copy = by_url["https://alpha.example/1"], by_url["https://beta.example/9"]
    assert original.duplicate_of is None and original.minhash is not None
    assert copy.duplicate_of == original.id and copy.duplicate_similarity >= 0.7
    with engine.connect() as conn:
        assert count_articles(conn) == 2 and count_articles(conn, originals_only=True) == 1


def test_unrelated_articles_are_not_duplicates(engine):
    other = ("The central bank kept its benchmark lending rate unchanged for a third month, citing "
             "slowing inflation and a weaker property market, and signalled more support.")
    outcome = store(engine, "alpha", rss(("a-1", "https://a.example/1", WIRE),
                                         ("a-2", "https://a.example/2", other)))
    assert (outcome.new_items, outcome.duplicates) == (2, 0)


def test_not_a_feed_raises_and_stores_nothing(engine):
    with pytest.raises(PermanentFetchError) as caught:
        store(engine, "html", (FEEDS / "not_a_feed.html").read_bytes())
    assert caught.value.error_class == "not_a_feed"
    assert rows(engine) == {}


def test_bozo_document_stores_entries_and_returns_the_problem(engine):
    outcome = store(engine, "bozo", (FEEDS / "bozo_with_entries.xml").read_bytes())
    assert outcome.new_items == 1 and "undefined entity" in outcome.problem


def test_fulltext_from_a_local_server(engine, httpserver):
    page = ("<html><body><nav>Home | World</nav><article><h1>Draft law</h1>"
            + "".join(f"<p>{WIRE} Paragraph {n} adds detail on enforcement.</p>" for n in range(4))
            + "</article><footer>Copyright</footer></body></html>")
    httpserver.expect_request("/story").respond_with_data(page, content_type="text/html")
    httpserver.expect_request("/empty").respond_with_data("<html><body></body></html>",
                                                          content_type="text/html")
    import httpx

    def fetch_page(url: str) -> bytes:
        return httpx.get(url, timeout=5).content

    feed_id, ref = feed(engine, "full")
    doc = rss(("f-1", httpserver.url_for("/story"), "Teaser."), ("f-2", httpserver.url_for("/empty"), "Kept."))
    outcome = store_document(engine, feed_id, ref, doc, XML, fetched_at=NOW, base_url=ref.url,
                             fetch_page=fetch_page)
    assert outcome.new_items == 2
    by_path = {r.original_url.rsplit("/", 1)[-1]: r for r in rows(engine).values()}
    assert "Paragraph 3 adds detail" in by_path["story"].fulltext
    assert "Copyright" not in by_path["story"].fulltext
    assert by_path["story"].fulltext_error is None
    assert by_path["empty"].fulltext is None and by_path["empty"].summary == "Kept."
    assert by_path["empty"].fulltext_error == "no article text found on the page"


def test_fulltext_fetch_failure_is_recorded():
    assert extract_text(b"").error == "empty page"


def test_cli_ingest_files_and_folders(tmp_path, sqlite_url, capsys):
    config = tmp_path / "feeds.yaml"
    config.write_text("topic:\n  name: t\n", encoding="utf-8")
    code = main(["--config", str(config), "--db", sqlite_url, "ingest", str(FEEDS),
                 "--group", "archive", "--workers", "1", "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["files"] == len([p for p in FEEDS.iterdir() if p.suffix in (".xml", ".json")])
    assert summary["failed"] == 0 and summary["new_articles"] >= 20
    engine = open_engine(sqlite_url)
    with engine.connect() as conn:
        names = set(conn.execute(sa.select(feeds.c.name)).scalars())
        warning = conn.execute(sa.select(feeds.c.parse_warning)
                               .where(feeds.c.name == "ingest:bozo_with_entries")).scalar()
        groups = set(conn.execute(sa.select(articles.c.group_name)).scalars())
    assert "ingest:rss20" in names and "undefined entity" in warning and groups == {"archive"}
    # the same files again: nothing new
    assert main(["--config", str(config), "--db", sqlite_url, "ingest", str(FEEDS), "--json",
                 "--workers", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["new_articles"] == 0


def test_cli_ingest_one_feed_name_and_errors(tmp_path, sqlite_url, capsys):
    config = tmp_path / "feeds.yaml"
    config.write_text("topic:\n  name: t\n", encoding="utf-8")
    args = ["--config", str(config), "--db", sqlite_url, "ingest"]
    assert main(args + [str(FEEDS / "rss20.xml"), str(FEEDS / "not_a_feed.html"),
                        "--feed-name", "archive", "--outlet", "Daily", "--language", "en-GB"]) == 0
    captured = capsys.readouterr()
    assert "2 files: 1 ok, 1 failed" in captured.out and "not_a_feed" in captured.err
    assert main(args + [str(tmp_path / "missing.xml")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(args + [str(FEEDS), "--language", "english!"]) == 2
    with open_engine(sqlite_url).connect() as conn:
        assert set(conn.execute(sa.select(feeds.c.name)).scalars()) == {"ingest:archive"}
        assert set(conn.execute(sa.select(articles.c.outlet)).scalars()) == {"Daily"}


def _dated(guid: str, text: str, hour: int) -> bytes:
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item>'
            f'<guid>{guid}</guid><title>Draft law</title><link>{guid}</link>'
            f'<description>{text}</description><pubDate>Fri, 01 Mar 2024 {hour:02d}:00:00 GMT</pubDate>'
            f'</item></channel></rss>').encode()


def test_the_earliest_published_copy_is_the_original_whatever_the_arrival_order(engine):
    # Two outlets' reposts arrive before the wire story they copy (feeds are fetched
    # concurrently); when the wire arrives, both become its duplicates.
    edited = WIRE.replace("on Tuesday", "this week").replace("country.", "country, officials said.")
    store(engine, "alpha", _dated("https://alpha.example/1", edited, 12))
    store(engine, "beta", _dated("https://beta.example/1", WIRE, 10))
    store(engine, "wire", _dated("https://wire.example/1", WIRE, 8))
    by_url = {r.url: r for r in rows(engine).values()}
    wire = by_url["https://wire.example/1"]
    assert wire.duplicate_of is None
    assert by_url["https://alpha.example/1"].duplicate_of == wire.id
    assert by_url["https://beta.example/1"].duplicate_of == wire.id
    assert 0.5 <= by_url["https://alpha.example/1"].duplicate_similarity < 1.0
