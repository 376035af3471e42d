"""ParsedEntry -> Article: one small helper per field, none of which raises on bad input.

Article id, the fallback chain (see `article_id`):
  1. the GUID: `guid:<guid>` when it is globally unique (an absolute URL, `urn:` or `tag:`),
     else `guid:<outlet>:<guid>` because bare GUIDs such as "1234" repeat across outlets;
     a GUID that is a URL is canonicalised first, so tracking parameters do not split it;
  2. the canonical link: `url:<canonical url>`;
  3. `text:<title>|<date>|<content hash>` for entries with neither.
The id stored is the SHA-256 hex of that key.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import nh3

from monitor.ingest.language import LanguageGuess, detect_languages
from monitor.models import Article, FeedRef, ParsedEntry

FUTURE_TOLERANCE = timedelta(days=2)

# Query parameters that identify a campaign or a click, never the article.
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gclsrc", "msclkid", "yclid", "mc_cid", "mc_eid", "_hsenc",
    "_hsmi", "mkt_tok", "igshid", "ocid", "cmpid", "ncid", "sr_share", "ref_src", "ref_url",
    "wt.mc_id", "at_medium", "at_campaign", "rss", "rssfeed", "__twitter_impression",
})
TRACKING_PREFIXES = ("utm_", "pk_", "piwik_", "mtm_", "at_", "_ga", "oly_")

DISPLAY_TAGS = {"a", "abbr", "b", "blockquote", "br", "cite", "code", "em", "figcaption",
                "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol",
                "p", "pre", "q", "s", "small", "strong", "sub", "sup", "table", "tbody", "td",
                "th", "thead", "tr", "u", "ul"}
DISPLAY_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"},
                      "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
_BLOCK_TAG = re.compile(
    r"<(/?)(p|br|div|li|ul|ol|h[1-6]|tr|td|th|table|blockquote|section|article|header|footer"
    r"|pre|hr|figure|figcaption|dd|dt)\b", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


def normalize_entry(entry: ParsedEntry, feed: FeedRef, *, fetched_at: datetime, base_url: str = "",
                    feed_language: str | None = None) -> Article:
    """One clean, comparable Article from a parsed entry and the feed it came in."""
    return normalize_entries([entry], feed, fetched_at=fetched_at, base_url=base_url,
                             feed_language=feed_language)[0]


def normalize_entries(entries: Sequence[ParsedEntry], feed: FeedRef, *, fetched_at: datetime,
                      base_url: str = "", feed_language: str | None = None) -> list[Article]:
    """`normalize_entry` of each entry of a document; their languages are detected in one
    batch, which is much cheaper per entry."""
    titles = [html_to_text(e.title_html) for e in entries]
    summaries = [html_to_text(e.content_html or e.summary_html) for e in entries]
    languages = detect_languages([f"{t}\n{s}" for t, s in zip(titles, summaries)],
                                 [e.language or feed.language or feed_language for e in entries])
    return [_article(*fields, feed, fetched_at, base_url)
            for fields in zip(entries, titles, summaries, languages)]


def _article(entry: ParsedEntry, title: str, summary: str, language: LanguageGuess, feed: FeedRef,
             fetched_at: datetime, base_url: str) -> Article:
    original_url = resolve_url(entry.link or "", base_url)
    url = canonical_url(original_url)
    body_html = entry.content_html or entry.summary_html
    published_at, date_flag = publication_time(entry.published, fetched_at)
    content_hash = text_hash(title, summary)
    return Article(
        id=article_id(entry.guid, url, title, entry.published, content_hash, outlet=feed.outlet),
        url=url, original_url=original_url, title=title, summary=summary,
        content_html=sanitize_html(body_html, base_url=_html_base(entry, base_url)),
        published_at=published_at, date_flag=date_flag, fetched_at=fetched_at,
        author=html_to_text(entry.author)[:500],
        categories=tuple(dict.fromkeys(c.strip() for c in entry.categories if c.strip()))[:50],
        language=language.code, language_confidence=language.confidence,
        language_source=language.source,
        outlet=feed.outlet or entry.source_title or "", group=feed.group, feed=feed.name,
        content_hash=content_hash,
    )


def article_id(guid: str | None, url: str, title: str, published: datetime | None,
               content_hash: str, *, outlet: str = "") -> str:
    """The stable id (fallback chain in the module docstring)."""
    if guid:
        if _is_global_guid(guid):
            key = f"guid:{canonical_url(guid) if '://' in guid else guid}"
        else:
            key = f"guid:{outlet}:{guid}"
    elif url:
        key = f"url:{url}"
    else:
        key = f"text:{title}|{published.isoformat() if published else ''}|{content_hash}"
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _is_global_guid(guid: str) -> bool:
    lowered = guid.lower()
    return lowered.startswith(("urn:", "tag:")) or (
        lowered.startswith(("http://", "https://")) and bool(urlsplit(guid).netloc))


def resolve_url(link: str, base_url: str) -> str:
    """An absolute http(s) URL, or "" for anything else (javascript:, data:, garbage)."""
    link = link.strip()
    if not link:
        return ""
    try:
        absolute = urljoin(base_url, link) if base_url else link
        scheme = urlsplit(absolute).scheme.lower()
    except ValueError:
        return ""
    return absolute if scheme in ("http", "https") else ""


def canonical_url(url: str) -> str:
    """Scheme and host lower-cased, default port and fragment dropped, tracking parameters
    removed, the remaining query sorted. Returns "" for URLs that cannot be parsed."""
    if not url:
        return ""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    if port and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    if parts.username or parts.password:
        host = f"{parts.username or ''}{':' + parts.password if parts.password else ''}@{host}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not _is_tracking(k)]
    return urlunsplit((scheme, host.lower(), parts.path or "/", urlencode(sorted(query)), ""))


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def html_to_text(fragment: str) -> str:
    """Plain text: tags stripped (scripts and styles with their content), entities decoded,
    block boundaries kept as spaces, whitespace folded."""
    if not fragment:
        return ""
    if "<" in fragment:
        spaced = _BLOCK_TAG.sub(r" <\1\2", fragment)
        fragment = nh3.clean(spaced, tags=set(), attributes={}, strip_comments=True)
    return _SPACE.sub(" ", html.unescape(fragment)).strip()


def sanitize_html(fragment: str, *, base_url: str = "") -> str:
    """HTML safe to show: a small allow-list of tags, http(s)/mailto links, no scripts.
    Relative links and image sources are made absolute against `base_url` when it is an
    http(s) URL, else left as they are."""
    if not fragment:
        return ""
    options = dict(tags=DISPLAY_TAGS, attributes=DISPLAY_ATTRIBUTES,
                   url_schemes={"http", "https", "mailto"},
                   link_rel="noopener noreferrer nofollow", strip_comments=True)
    if resolve_url(base_url, ""):
        try:
            return nh3.clean(fragment, url_relative=("rewrite_with_base", base_url), **options)
        except ValueError:
            pass   # a base Python accepts but ammonia's URL parser does not: links stay relative
    return nh3.clean(fragment, **options)


def _html_base(entry: ParsedEntry, base_url: str) -> str:
    """What links in the entry's HTML are relative to: its xml:base, itself relative to
    the document's URL or the feed's link."""
    if not entry.html_base:
        return base_url
    try:
        return urljoin(base_url, entry.html_base) if base_url else entry.html_base
    except ValueError:
        return base_url


def publication_time(published: datetime | None, fetched_at: datetime) -> tuple[datetime, str]:
    """(UTC time, flag): "missing" uses the fetch time; more than 2 days ahead is "future"
    and clamped to the fetch time."""
    if published is None:
        return fetched_at, "missing"
    if published > fetched_at + FUTURE_TOLERANCE:
        return fetched_at, "future"
    return published, "ok"


def text_hash(title: str, text: str) -> str:
    return hashlib.sha256(f"{title}\n{text}".encode("utf-8", "surrogatepass")).hexdigest()
