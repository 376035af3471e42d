"""Bytes + response headers -> ParsedFeed.

XML formats (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, CDF) go through feedparser; JSON Feed, which
feedparser 6 does not read, through a small reader of our own. feedparser is only ever
given a BytesIO, never a str or bytes it could take for a URL or a file path.

HTML safety is ours, not feedparser's: its sanitiser and its rewriting of relative links
inside content are switched off (they cost about a quarter of its parse time), because
normalize cleans every HTML field with nh3 anyway and makes links in content absolute
there, against `ParsedEntry.html_base` (the xml:base in scope) or the feed's URL.

Entity safety: feedparser strips the DOCTYPE and keeps only entity declarations whose value
is plain text (no references), so billion-laughs chains and SYSTEM/PUBLIC entities never
expand; expat is also told not to fetch external entities. tests/test_parse.py proves it.
"""

from __future__ import annotations

import calendar
import io
import json
from datetime import datetime, timezone
from typing import Any

import feedparser

from monitor.models import ParsedEntry, ParsedFeed

JSON_CONTENT_TYPES = ("application/feed+json", "application/json", "text/json")


def parse_document(body: bytes, headers: dict[str, str], *, base_url: str = "") -> ParsedFeed:
    """Parse one downloaded document. Never raises on bad input: problems go in `.problem`."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    if _looks_like_json(body, headers.get("content-type", "")):
        return parse_json_feed(body, base_url=base_url)
    return parse_xml_feed(body, headers, base_url=base_url)


def _looks_like_json(body: bytes, content_type: str) -> bool:
    if any(t in content_type.lower() for t in JSON_CONTENT_TYPES):
        return True
    head = body[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{")


def parse_xml_feed(body: bytes, headers: dict[str, str], *, base_url: str = "") -> ParsedFeed:
    """Parse RSS/Atom/RDF bytes with feedparser; relative links resolve against base_url."""
    response_headers = dict(headers)
    # A local file has no Content-Type; without one feedparser flags every document bozo.
    response_headers.setdefault("content-type", "application/xml")
    if base_url:
        # feedparser resolves relative URIs against Content-Location when given a stream.
        from urllib.parse import urljoin
        response_headers["content-location"] = urljoin(base_url, headers.get("content-location", ""))
    result = feedparser.parse(io.BytesIO(body), response_headers=response_headers,
                              sanitize_html=False, resolve_relative_uris=False)
    feed = result.get("feed", {})
    entries = tuple(_entry(e) for e in result.get("entries", []))
    return ParsedFeed(
        entries=entries,
        title=_text(feed.get("title")),
        language=feed.get("language") or None,
        link=feed.get("link") or None,
        ttl_minutes=_ttl(feed.get("ttl")),
        problem=_bozo_reason(result),
        kind=result.get("version") or "",
    )


def _bozo_reason(result: Any) -> str | None:
    if not result.get("bozo"):
        return None
    exc = result.get("bozo_exception")
    name = type(exc).__name__ if exc is not None else "error"
    message = str(exc).strip().splitlines()[0] if exc is not None and str(exc).strip() else ""
    return f"{name}: {message}"[:500] if message else name


def _ttl(value: Any) -> int | None:
    try:
        ttl = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return ttl if 0 < ttl <= 60 * 24 * 30 else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


# FeedParserDict.get goes through feedparser's alias machinery (a few microseconds a call,
# a dozen calls an entry); none of the keys read below is an alias, so a plain dict lookup
# returns the same value.
_get = dict.get


def _entry(e: Any) -> ParsedEntry:
    title_detail = _get(e, "title_detail") or {}
    title = _text(_get(e, "title"))
    if _get(title_detail, "type") == "text/plain":
        title = _escape(title)   # plain text: make it HTML so one text path handles both
    content = _get(e, "content") or []
    content_html = _text(_get(content[0], "value")) if content else ""
    if content and _get(content[0], "type") == "text/plain":
        content_html = _escape(content_html)
    summary_detail = _get(e, "summary_detail") or {}
    summary = _text(_get(e, "summary"))
    if _get(summary_detail, "type") == "text/plain":
        summary = _escape(summary)
    source = _get(e, "source") or {}
    html_detail = content[0] if content_html else summary_detail
    return ParsedEntry(
        guid=_text(_get(e, "id")).strip() or None,
        link=_entry_link(e),
        title_html=title,
        summary_html=summary,
        content_html=content_html,
        published=_entry_date(e),
        author=_text(_get(e, "author")),
        categories=tuple(_get(t, "term") for t in _get(e, "tags") or [] if _get(t, "term")),
        language=_entry_language(e, title_detail, summary_detail),
        source_title=_text(_get(source, "title")) or None,
        source_url=_text(_get(source, "href") or _get(source, "link")) or None,
        html_base=_text(_get(html_detail, "base")) or None,
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _entry_link(e: Any) -> str | None:
    """The entry's alternate link, else its first link, else a permalink GUID."""
    for link in _get(e, "links") or []:
        if _get(link, "rel", "alternate") == "alternate" and _get(link, "href"):
            return link["href"]
    if _get(e, "link"):
        return e["link"]
    if _get(e, "guidislink") and _get(e, "id"):
        return e["id"]
    return None


def _entry_date(e: Any) -> datetime | None:
    """published, then updated (dc:date maps here), then created; feedparser gives UTC."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = _get(e, key)   # plain lookup: FeedParserDict would alias updated->published
        if parsed:
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _entry_language(e: Any, *details: Any) -> str | None:
    for detail in details:
        if detail and _get(detail, "language"):
            return detail["language"]
    return _get(e, "language") or None


# -- JSON Feed (https://jsonfeed.org, versions 1 and 1.1) ---------------------------------

def parse_json_feed(body: bytes, *, base_url: str = "") -> ParsedFeed:
    """Read a JSON Feed; anything that is not one yields no entries and a problem."""
    try:
        doc = json.loads(body.decode("utf-8-sig", errors="replace"))
    except (ValueError, RecursionError) as exc:
        return ParsedFeed(entries=(), title="", language=None, link=None, ttl_minutes=None,
                          problem=f"invalid JSON: {exc}"[:500], kind="")
    if not isinstance(doc, dict) or "jsonfeed.org" not in str(doc.get("version", "")):
        return ParsedFeed(entries=(), title="", language=None, link=None, ttl_minutes=None,
                          problem="JSON document is not a JSON Feed", kind="")
    items = doc.get("items") if isinstance(doc.get("items"), list) else []
    language = _str(doc.get("language")) or None
    entries = tuple(_json_entry(item, language) for item in items if isinstance(item, dict))
    version = str(doc.get("version")).rstrip("/").rsplit("/", 1)[-1]
    return ParsedFeed(entries=entries, title=_str(doc.get("title")), language=language,
                      link=_str(doc.get("home_page_url")) or None, ttl_minutes=None,
                      problem=None if isinstance(doc.get("items"), list) else "JSON Feed has no items list",
                      kind=f"json{version.replace('.', '')}")


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _json_entry(item: dict, feed_language: str | None) -> ParsedEntry:
    authors = item.get("authors") if isinstance(item.get("authors"), list) else [item.get("author")]
    author = ", ".join(_str(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name"))
    text = _escape(_str(item.get("content_text")))
    return ParsedEntry(
        guid=str(item["id"]).strip() or None if item.get("id") is not None else None,
        link=_str(item.get("url")) or _str(item.get("external_url")) or None,
        title_html=_escape(_str(item.get("title"))),
        summary_html=_escape(_str(item.get("summary"))),
        content_html=_str(item.get("content_html")) or text,
        published=_iso_date(item.get("date_published")) or _iso_date(item.get("date_modified")),
        author=author,
        categories=tuple(t for t in item.get("tags") or [] if isinstance(t, str)),
        language=_str(item.get("language")) or feed_language,
    )


def _iso_date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)
