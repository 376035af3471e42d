"""Parsing: every format and encoding fixture, bozo feeds, JSON Feed, and XML attacks."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from monitor.errors import PermanentFetchError
from monitor.ingest.parse import parse_document
from monitor.ingest.pipeline import prepare_document
from monitor.models import FeedRef

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
XML = {"content-type": "application/xml"}
NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)


def parse(name: str, headers: dict | None = None, base_url: str = ""):
    return parse_document((FEEDS / name).read_bytes(), headers or XML, base_url=base_url)


@pytest.mark.parametrize("name, kind, entries", [
    ("rss091.xml", "rss091n", 2), ("rss20.xml", "rss20", 2), ("rss10_rdf.xml", "rss10", 1),
    ("atom03.xml", "atom03", 1), ("atom10.xml", "atom10", 2), ("json_feed.json", "json11", 2),
])
def test_each_format_yields_its_entries(name, kind, entries):
    feed = parse(name)
    assert feed.kind == kind
    assert len(feed.entries) == entries
    assert feed.problem is None


@pytest.mark.parametrize("name, title", [
    ("gb2312.xml", "社会信用体系"), ("gb18030.xml", "信用㐀平台"), ("big5.xml", "社會信用體系"),
    ("windows1251.xml", "Социальный рейтинг"), ("koi8r.xml", "Социальный рейтинг в Китае"),
    ("utf8.xml", "Café 中文 naïve — “quotes”"),
])
def test_encodings_are_decoded(name, title):
    feed = parse(name)
    assert feed.problem is None
    article = prepare_document(FeedRef("f", "file:///f", "O", "g"), (FEEDS / name).read_bytes(), XML,
                               fetched_at=NOW, base_url="").articles[0]
    assert article.title == title


def test_channel_fields():
    feed = parse("rss20.xml")
    assert (feed.title, feed.language, feed.ttl_minutes, feed.link) == (
        "Daily Example", "en", 45, "https://daily.example/")
    entry = feed.entries[0]
    assert entry.guid == "daily-1001"
    assert entry.categories == ("China", "Business")   # feedparser drops the repeat
    assert entry.published == datetime(2019, 3, 5, 6, 30, tzinfo=timezone.utc)


def test_dc_date_and_updated_only_dates_are_used():
    assert parse("rss10_rdf.xml").entries[0].published == datetime(2020, 2, 3, 7, tzinfo=timezone.utc)
    assert parse("atom10.xml").entries[0].published == datetime(2021, 5, 1, 6, tzinfo=timezone.utc)


def test_bozo_feed_keeps_entries_and_reports_why():
    feed = parse("bozo_with_entries.xml")
    assert [e.link for e in feed.entries] == ["http://bozo.example/1"]
    assert feed.problem and "undefined entity" in feed.problem


def test_wrong_content_type_is_a_problem_not_a_failure():
    feed = parse("rss20.xml", {"content-type": "text/html; charset=utf-8"})
    assert len(feed.entries) == 2
    assert feed.problem and feed.problem.startswith("NonXMLContentType")


def test_html_page_and_empty_body_are_not_feeds():
    ref = FeedRef("f", "https://x.example/", "O", "g")
    for body in [(FEEDS / "not_a_feed.html").read_bytes(), b"", b"   \n"]:
        with pytest.raises(PermanentFetchError) as caught:
            prepare_document(ref, body, {"content-type": "text/html"}, fetched_at=NOW, base_url="")
        assert caught.value.error_class == "not_a_feed"


def test_json_that_is_not_a_json_feed_is_not_a_feed():
    with pytest.raises(PermanentFetchError, match="not a JSON Feed"):
        prepare_document(FeedRef("f", "u", "O", "g"), b'{"hello": 1}', {"content-type": "application/json"},
                         fetched_at=NOW, base_url="")


def test_untrusted_string_is_never_taken_for_a_path_or_url(tmp_path):
    secret = tmp_path / "secret.xml"
    secret.write_bytes((FEEDS / "rss20.xml").read_bytes())
    # Bytes that name a real file or a URL must be parsed as content, not opened.
    for body in [str(secret).encode(), b"http://127.0.0.1:9/feed.xml"]:
        with pytest.raises(PermanentFetchError):
            prepare_document(FeedRef("f", "u", "O", "g"), body, XML, fetched_at=NOW, base_url="")


def test_billion_laughs_never_expands():
    feed = parse("billion_laughs.xml")
    entry = feed.entries[0]
    assert "lollol" not in entry.title_html + entry.summary_html
    assert len(entry.title_html) < 100 and len(entry.summary_html) < 100
    assert feed.problem   # the undefined (stripped) entities are reported


def test_external_entities_are_never_read_or_fetched(tmp_path):
    secret = tmp_path / "passwd"
    secret.write_text("TOP-SECRET-CONTENT", encoding="utf-8")
    body = (FEEDS / "external_entity.xml").read_bytes().replace(b"SECRET_PATH", str(secret).encode())
    feed = parse_document(body, XML)
    entry = feed.entries[0]
    text = entry.title_html + entry.summary_html + feed.title
    assert "TOP-SECRET" not in text
    assert entry.link == "http://xxe.example/1"


def test_entities_declared_with_plain_values_still_work():
    body = b"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY brand "Example News">]>
<rss version="2.0"><channel><title>&brand;</title><item><title>From &brand;</title>
<link>http://e.example/1</link></item></channel></rss>"""
    feed = parse_document(body, XML)
    assert feed.title == "Example News"
    assert feed.entries[0].title_html == "From Example News"
