"""Normalisation: ids, canonical URLs, text and display HTML, dates, language."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitor.ingest.language import detect_language, language_code
from monitor.ingest.normalize import (article_id, canonical_url, html_to_text, publication_time,
                                      sanitize_html)
from monitor.ingest.pipeline import prepare_document
from monitor.models import FeedRef

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
NOW = datetime(2024, 6, 1, 12, tzinfo=timezone.utc)
REF = FeedRef("daily", "https://daily.example/rss", "Daily", "western", language=None)


def articles(name: str, base_url: str = "https://base.example/feeds/x.xml", ref: FeedRef = REF):
    content_type = "application/feed+json" if name.endswith(".json") else "application/xml"
    return prepare_document(ref, (FEEDS / name).read_bytes(), {"content-type": content_type},
                            fetched_at=NOW, base_url=base_url).articles


@pytest.mark.parametrize("url, canonical", [
    ("HTTPS://Example.COM:443/a/b?utm_source=x&z=1&a=2#frag", "https://example.com/a/b?a=2&z=1"),
    ("http://example.com:8080/?fbclid=1&gclid=2&mc_cid=3", "http://example.com:8080/"),
    ("https://example.com/path?b=2&a=1&a=0", "https://example.com/path?a=0&a=1&b=2"),
    ("https://[broken/x", ""),
    ("", ""),
])
def test_canonical_url(url, canonical):
    assert canonical_url(url) == canonical


def test_tracking_parameters_and_fragment_dropped_original_kept():
    article = articles("rss20.xml")[0]
    assert article.url == "https://daily.example/world/1001?b=2&id=7"
    assert article.original_url.endswith("utm_medium=feed&id=7&b=2#comments")


def test_id_fallback_chain():
    url = "https://a.example/1"
    key = lambda s: hashlib.sha256(s.encode()).hexdigest()   # noqa: E731
    assert article_id("tag:a.example,2020:1", url, "t", None, "h") == key("guid:tag:a.example,2020:1")
    assert article_id("https://A.example/1?utm_source=x", "", "t", None, "h") == key("guid:https://a.example/1")
    assert article_id("1234", url, "t", None, "h", outlet="A") == key("guid:A:1234")
    assert article_id("1234", url, "t", None, "h", outlet="A") != article_id("1234", url, "t", None, "h", outlet="B")
    assert article_id(None, url, "t", None, "h") == key(f"url:{url}")
    when = datetime(2020, 1, 1, tzinfo=timezone.utc)
    assert article_id(None, "", "t", when, "h") == key(f"text:t|{when.isoformat()}|h")


def test_relative_links_resolve_against_feed_url_and_xml_base():
    cdata = articles("cdata_relative.xml")[0]
    assert cdata.url == "https://base.example/2023/01/item.html?a=1&b=2"
    assert 'href="https://base.example/more"' in cdata.content_html
    atom = articles("atom10.xml")
    assert atom[0].url == "https://atom.example/news/2021/05/story.html"
    assert 'src="https://atom.example/news/img/a.png"' in atom[0].content_html
    assert atom[1].url == "https://atom.example/ru/2"
    json_items = articles("json_feed.json")
    assert json_items[1].url == "https://base.example/posts/2"


def test_plain_text_and_sanitized_html():
    article = articles("rss20.xml")[0]
    assert article.title == "Beijing expands corporate credit ratings"
    assert article.summary == ("Regulators said on Tuesday that & the rating system will cover "
                               "more firms. Second para.")
    assert "<script" not in article.content_html and "alert" not in article.content_html
    assert "onclick" not in article.content_html and "javascript:" not in article.content_html
    assert "<b>Tuesday</b>" in article.content_html
    cdata = articles("cdata_relative.xml")[0]
    assert cdata.title == "Title with markup & an ampersand"
    json_first, json_second = articles("json_feed.json")
    assert "onerror" not in json_first.content_html
    assert json_second.summary == "Plain text <not a tag>."


# feedparser's own sanitiser is off (parse.py): every hostile construct must be cleaned by
# normalize's nh3 pass, in the title, the text and the display HTML, and links inside the
# HTML resolve against the entry's xml:base.
HOSTILE_ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://hostile.example/news/">
<title>Hostile</title><link href="https://hostile.example/"/><id>urn:x:hostile</id>
<entry><id>urn:x:hostile:1</id><link href="a/1"/><updated>2024-05-01T00:00:00Z</updated>
<title type="html">&lt;script&gt;steal()&lt;/script&gt;Safe &lt;img src=x onerror=alert(1)&gt;title</title>
<content type="html" xml:base="/media/">&lt;p style="x" onmouseover="alert(2)"&gt;Body&lt;/p&gt;
&lt;a href="javascript:alert(3)"&gt;js&lt;/a&gt; &lt;a href="pics/1.html"&gt;rel&lt;/a&gt;
&lt;img src="1.png"&gt;&lt;iframe src="https://evil.example/"&gt;&lt;/iframe&gt;
&lt;object data="x.swf"&gt;&lt;/object&gt;&lt;svg&gt;&lt;script&gt;alert(4)&lt;/script&gt;&lt;/svg&gt;
&lt;a href="data:text/html;base64,PHNjcmlwdD4="&gt;data&lt;/a&gt;</content></entry>
</feed>"""


@pytest.mark.parametrize("base_url", ["", "https://fetched.example/feed.xml"])
def test_hostile_html_is_cleaned_by_us_and_content_links_resolve_against_xml_base(base_url):
    [article] = prepare_document(REF, HOSTILE_ATOM, {"content-type": "application/atom+xml"},
                                 fetched_at=NOW, base_url=base_url).articles
    assert article.title == "Safe title"
    assert article.url == "https://hostile.example/news/a/1"
    assert article.summary == "Body js rel data"
    assert article.content_html == (
        '<p>Body</p>\n<a rel="noopener noreferrer nofollow">js</a> '
        '<a href="https://hostile.example/media/pics/1.html" rel="noopener noreferrer nofollow">rel</a>\n'
        '<img src="https://hostile.example/media/1.png">\n\n'
        '<a rel="noopener noreferrer nofollow">data</a>')


def test_content_links_of_a_local_file_resolve_against_the_feeds_link():
    cdata = articles("cdata_relative.xml", base_url="")[0]
    assert cdata.url == "https://cdata.example/2023/01/item.html?a=1&b=2"
    assert 'href="https://cdata.example/more"' in cdata.content_html


def test_sanitize_html_base_url_only_when_it_is_a_web_url():
    html = '<a href="/x">x</a><img src="y.png">'
    assert sanitize_html(html, base_url="https://b.example/d/") == (
        '<a href="https://b.example/x" rel="noopener noreferrer nofollow">x</a>'
        '<img src="https://b.example/d/y.png">')
    for base in ("", "file:///etc/passwd", "javascript:alert(1)", "https://[broken"):
        assert sanitize_html(html, base_url=base) == (
            '<a href="/x" rel="noopener noreferrer nofollow">x</a><img src="y.png">')


def test_html_to_text_folds_whitespace_and_keeps_block_boundaries():
    assert html_to_text("<p>One</p><p>Two&nbsp;&amp;\n\n three</p><br>four") == "One Two & three four"
    assert html_to_text("<style>p{}</style><script>x()</script>Kept") == "Kept"
    assert html_to_text("a &lt; b") == "a < b"
    assert sanitize_html('<a href="javascript:x()">y</a><img src=x onerror=alert(1)>') == \
        '<a rel="noopener noreferrer nofollow">y</a><img src="x">'


def test_author_categories_outlet_group():
    article = articles("rss20.xml")[0]
    assert article.author == "jane@daily.example (Jane Roe)"
    assert article.categories == ("China", "Business")
    assert (article.outlet, article.group, article.feed) == ("Daily", "western", "daily")
    rdf = articles("rss10_rdf.xml")[0]
    assert (rdf.author, rdf.categories) == ("Ivan Petrov", ("Policy",))


def test_dates_missing_malformed_future_and_zones():
    by_url = {a.url.rsplit("/", 1)[-1]: a for a in articles("dates.xml")}
    assert (by_url["none"].published_at, by_url["none"].date_flag) == (NOW, "missing")
    assert (by_url["bad"].published_at, by_url["bad"].date_flag) == (NOW, "missing")
    assert (by_url["future"].published_at, by_url["future"].date_flag) == (NOW, "future")
    assert by_url["ok"].published_at == datetime(2019, 2, 2, 8, 4, 5, tzinfo=timezone.utc)
    assert by_url["ok"].date_flag == "ok"
    assert by_url["ok"].published_at.utcoffset() == timedelta(0)


def test_publication_time_tolerates_small_clock_skew():
    soon = NOW + timedelta(days=1)
    assert publication_time(soon, NOW) == (soon, "ok")
    assert publication_time(NOW + timedelta(days=3), NOW) == (NOW, "future")


def test_language_declared_detected_and_chinese_variants():
    assert language_code("zh-TW") == language_code("zh-Hant") == language_code("zh_CN") == "zh"
    assert language_code("en-US") == "en" and language_code("x") is None
    big5 = articles("big5.xml")[0]
    assert (big5.language, big5.language_source) == ("zh", "declared")
    koi8 = articles("koi8r.xml")[0]          # declares en-us, text is Russian
    assert (koi8.language, koi8.language_source) == ("ru", "detected")
    assert koi8.language_confidence > 0.9
    gb18030 = articles("gb18030.xml")[0]     # declares nothing
    assert (gb18030.language, gb18030.language_source) == ("zh", "detected")
    ru_entry = articles("atom10.xml")[1]     # xml:lang="ru" on the entry, "en" on the feed
    assert (ru_entry.language, ru_entry.language_source) == ("ru", "declared")


def test_configured_language_is_a_declaration():
    short = detect_language("OK", declared="ru")
    assert (short.code, short.source) == ("ru", "declared")
    ref = FeedRef("f", "u", "O", "g", language="ru")
    article = articles("windows1251.xml", ref=ref)[0]
    assert (article.language, article.language_source) == ("ru", "declared")
    assert detect_language("", declared=None).code == "und"
