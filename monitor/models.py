"""Frozen records passed between the pipeline's stages.

Each stage takes one of these and returns the next; none of them knows about the
database or the CLI. Times are always timezone-aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class FetchResult:
    """What one HTTP (or file) request for a feed produced."""

    url: str                      # the URL finally fetched (after redirects)
    status: int | None            # HTTP status; None for file:// URLs
    body: bytes                   # empty when not modified
    headers: dict[str, str]       # response headers, lower-cased names
    not_modified: bool = False    # 304, or a body whose hash equals the last one
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    permanent_redirect: str | None = None   # new URL after a 301/308 chain
    retry_after: float | None = None        # seconds the server asked us to wait
    ttl_minutes: int | None = None          # <ttl> from an RSS channel, filled by parse
    duration_ms: int = 0


@dataclass(frozen=True)
class ParsedEntry:
    """One feed entry as feedparser gave it, reduced to the fields we use."""

    guid: str | None
    link: str | None
    title_html: str
    summary_html: str
    content_html: str
    published: datetime | None
    author: str
    categories: tuple[str, ...]
    language: str | None          # xml:lang / dc:language of the entry, if any
    source_title: str | None = None   # <source> of search-engine feeds
    source_url: str | None = None
    html_base: str | None = None      # xml:base in scope of the content (else summary) HTML


@dataclass(frozen=True)
class ParsedFeed:
    """A feed document after parsing: its entries and any problem feedparser noticed."""

    entries: tuple[ParsedEntry, ...]
    title: str
    language: str | None
    link: str | None
    ttl_minutes: int | None
    problem: str | None           # bozo reason, kept as a warning in the feed's health
    kind: str = ""                # rss20, atom10, rss10, json, ...


@dataclass(frozen=True)
class FeedRef:
    """The feed-level metadata an article inherits (from feeds.yaml or `ingest` options)."""

    name: str
    url: str
    outlet: str
    group: str
    language: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class Article:
    """One real article, normalised; stored once however many feeds carried it."""

    id: str                       # stable: see ingest.normalize.article_id
    url: str                      # canonical URL ("" when the entry has no link)
    original_url: str
    title: str                    # plain text
    summary: str                  # plain text of summary or content
    content_html: str             # sanitized HTML for display
    published_at: datetime
    date_flag: str                # "ok", "missing" (fetch time used) or "future" (clamped)
    fetched_at: datetime
    author: str
    categories: tuple[str, ...]
    language: str
    language_confidence: float
    language_source: str          # "declared" or "detected"
    outlet: str
    group: str
    feed: str
    content_hash: str
    fulltext: str | None = None


@dataclass
class RunReport:
    """The summary of an ingest or fetch run, printed at its end."""

    ok: int = 0
    not_modified: int = 0
    failed: int = 0
    new_articles: int = 0
    seen_articles: int = 0
    duplicates: int = 0
    duration_s: float = 0.0
    failures: list[str] = field(default_factory=list)   # "feed: reason"
    warnings: list[str] = field(default_factory=list)

    @property
    def feeds(self) -> int:
        return self.ok + self.not_modified + self.failed


@dataclass(frozen=True)
class FrameScore:
    """How strongly one article carries one frame; `evidence` lists the matched terms."""

    article_id: str
    frame: str
    score: float                  # 0..1
    present: bool                 # score reached the codebook's min_score (or the model's threshold)
    source: str                   # "codebook" or "model"
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Shift:
    """A significant change of a frame's share in one scope (all, a group, language or outlet)."""

    frame: str
    scope_kind: str               # all, group, language, outlet
    scope: str
    period: str                   # the first period of the change, e.g. 2020-01 or 2020-Q1
    method: str                   # baseline or changepoint
    share: float
    baseline_share: float
    effect: float                 # share - baseline_share
    ci_low: float                 # interval of the effect
    ci_high: float
    p_value: float
    n: int                        # articles behind `share`
    evidence: tuple[str, ...] = ()   # article ids that drive the change
