"""The order of ingest's stages, and the one function both fetching and `monitor ingest` call.

    bytes + headers ─> parse ─> normalize (+ language) ─> signature ─┐   (prepare_document:
                                                                     │    pure, picklable,
    [fulltext for new articles of fulltext feeds]                    │    runs in a worker)
                                                                     v
    one transaction: exact dedup (id, canonical URL) ─> near dedup (LSH) ─> insert ─> link feed

`store_document` = `prepare_document` + `store_prepared`.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from monitor.errors import PermanentFetchError
from monitor.ingest import dedup
from monitor.ingest.normalize import normalize_entries
from monitor.ingest.parse import parse_document
from monitor.models import Article, FeedRef, ParsedFeed
from monitor.store import articles as article_store

PageFetcher = Callable[[str], bytes]


@dataclass(frozen=True)
class DocumentOutcome:
    """What storing one fetched document did; the fetcher records it in the feed's health."""

    new_items: int            # articles stored for the first time
    total_items: int          # entries in the document
    problem: str | None       # parse warning (bozo reason, skipped entries, no entries)
    kind: str                 # rss20, atom10, rss10, json11, ...
    ttl_minutes: int | None   # the channel's <ttl>
    title: str                # the feed's own title
    duplicates: int = 0       # new articles that are near-duplicates of stored ones


@dataclass(frozen=True)
class PreparedDocument:
    """A parsed and normalised document, ready to store (picklable, for worker processes)."""

    articles: tuple[Article, ...]
    signatures: tuple[bytes | None, ...]
    total_items: int
    problem: str | None
    kind: str
    ttl_minutes: int | None
    title: str


def store_document(engine: Engine, feed_id: int, feed: FeedRef, body: bytes,
                   headers: dict[str, str], *, fetched_at: datetime, base_url: str,
                   fetch_page: PageFetcher | None = None) -> DocumentOutcome:
    """Parse, normalise, dedup and store one document in one transaction.

    Raises PermanentFetchError(error_class="not_a_feed") for a document that is no feed
    (empty, HTML, ...). With `fetch_page` (feeds marked `fulltext: true`), the page of
    each new article is fetched and its main text extracted before storing.
    """
    prepared = prepare_document(feed, body, headers, fetched_at=fetched_at, base_url=base_url)
    return store_prepared(engine, feed_id, prepared, fetched_at=fetched_at, fetch_page=fetch_page)


def prepare_document(feed: FeedRef, body: bytes, headers: dict[str, str], *,
                     fetched_at: datetime, base_url: str) -> PreparedDocument:
    """The CPU-bound half: parse, normalise, detect language, compute signatures."""
    if fetched_at.tzinfo is None:
        raise ValueError("fetched_at must be timezone-aware (UTC)")
    if not body.strip():
        raise PermanentFetchError("the document is empty", error_class="not_a_feed")
    parsed = parse_document(body, headers, base_url=base_url)
    _require_feed(parsed)
    articles, skipped = _normalize_all(parsed, feed, fetched_at, base_url)
    signatures = tuple(_signature_bytes(a) for a in articles)
    return PreparedDocument(articles=articles, signatures=signatures,
                            total_items=len(parsed.entries), problem=_problem(parsed, skipped),
                            kind=parsed.kind, ttl_minutes=parsed.ttl_minutes, title=parsed.title)


def _require_feed(parsed: ParsedFeed) -> None:
    if parsed.entries:
        return
    if parsed.problem or not parsed.kind:
        reason = parsed.problem or "no feed elements found"
        raise PermanentFetchError(f"not a feed: {reason}", error_class="not_a_feed")


def _problem(parsed: ParsedFeed, skipped: int) -> str | None:
    problems = [parsed.problem] if parsed.problem else []
    if skipped:
        problems.append(f"{skipped} entries without title, link or text were skipped")
    if not parsed.entries:
        problems.append("the feed has no entries")
    return "; ".join(problems) or None


def _normalize_all(parsed: ParsedFeed, feed: FeedRef, fetched_at: datetime,
                   base_url: str) -> tuple[tuple[Article, ...], int]:
    """Articles of a document, first occurrence of each id kept; count of empty entries."""
    base = base_url or parsed.link or ""
    seen: dict[str, Article] = {}
    skipped = 0
    for article in normalize_entries(parsed.entries, feed, fetched_at=fetched_at, base_url=base,
                                     feed_language=parsed.language):
        if not (article.title or article.url or article.summary):
            skipped += 1
            continue
        seen.setdefault(article.id, article)
    return tuple(seen.values()), skipped


def _signature_bytes(article: Article) -> bytes | None:
    text = f"{article.title}\n{article.fulltext or article.summary}"
    sig = dedup.signature(text, article.language)
    return dedup.signature_bytes(sig) if sig is not None else None


# -- storing -------------------------------------------------------------------------------

_indexes: "weakref.WeakKeyDictionary[Engine, dedup.NearDuplicateIndex]" = weakref.WeakKeyDictionary()
_index_lock = threading.Lock()


def near_duplicate_index(engine: Engine) -> dedup.NearDuplicateIndex:
    """This process's index for `engine`. Articles other processes store later are not
    seen until `reset_near_duplicate_index`; exact dedup does not depend on it."""
    with _index_lock:
        if engine not in _indexes:
            _indexes[engine] = dedup.NearDuplicateIndex()
        return _indexes[engine]


def reset_near_duplicate_index(engine: Engine) -> None:
    with _index_lock:
        _indexes.pop(engine, None)


def store_prepared(engine: Engine, feed_id: int, prepared: PreparedDocument, *,
                   fetched_at: datetime, fetch_page: PageFetcher | None = None) -> DocumentOutcome:
    """The storing half of store_document: one transaction per document."""
    items = [_Item(a, blob) for a, blob in zip(prepared.articles, prepared.signatures)]
    if fetch_page is not None and items:
        items = _with_fulltext(engine, items, fetch_page)
    index = near_duplicate_index(engine)
    with index_guard(index) as added, engine.begin() as conn:
        new, duplicates = _store_items(conn, index, added, feed_id, items, fetched_at)
    return DocumentOutcome(new_items=new, total_items=prepared.total_items,
                           problem=prepared.problem, kind=prepared.kind,
                           ttl_minutes=prepared.ttl_minutes, title=prepared.title,
                           duplicates=duplicates)


@dataclass(frozen=True)
class _Item:
    article: Article
    signature: bytes | None
    fulltext_error: str | None = None


class index_guard:
    """Holds the index for one transaction; takes back what it added if the write fails."""

    _locks: "weakref.WeakKeyDictionary[dedup.NearDuplicateIndex, threading.Lock]" = \
        weakref.WeakKeyDictionary()

    def __init__(self, index: dedup.NearDuplicateIndex):
        self.index = index
        with _index_lock:
            self.lock = self._locks.setdefault(index, threading.Lock())
        self.added: list[str] = []

    def __enter__(self) -> list[str]:
        self.lock.acquire()
        return self.added

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                # The transaction rolled back: what the index learned (additions, demoted
                # originals) may be wrong now, so it reloads from the database next time.
                self.index.clear()
        finally:
            self.lock.release()


def _store_items(conn: Connection, index: dedup.NearDuplicateIndex, added: list[str],
                 feed_id: int, items: list[_Item], fetched_at: datetime) -> tuple[int, int]:
    known = article_store.existing_ids(conn, [i.article.id for i in items])
    by_url = article_store.ids_by_url(conn, [i.article.url for i in items if i.article.id not in known])
    _load_window(conn, index, [i.article for i in items if i.article.id not in known])
    rows, linked, duplicates = [], [], 0
    demoted: list[tuple[str, str, float]] = []   # (old original, new original, similarity)
    for item in items:
        article, blob = item.article, item.signature
        same = article.id if article.id in known else by_url.get(article.url)
        if same is not None:
            linked.append(same)
            continue
        minhash = dedup.signature_from_bytes(blob) if blob else None
        near = None
        if minhash is not None:
            matches = index.matches(minhash, article.published_at)
            earlier = [m for m in matches if index.published_of(m.original_id) <= article.published_at]
            near = earlier[0] if earlier else None
            if near is None:
                # The newcomer was published first: it is the original, the stored ones copies.
                for later in matches:
                    demoted.append((later.original_id, article.id, later.similarity))
                    index.remove([later.original_id])
                    duplicates += 1
        if minhash is not None and near is None:
            index.add(article.id, article.published_at, minhash)
            added.append(article.id)
        duplicates += near is not None
        rows.append(article_store.article_row(
            article, minhash=blob, duplicate_of=near.original_id if near else None,
            duplicate_similarity=near.similarity if near else None,
            fulltext_error=item.fulltext_error))
        if article.url:
            by_url[article.url] = article.id   # a second entry with this URL in this document
        known.add(article.id)
    new = article_store.insert_articles(conn, rows)
    for old, original, similarity in demoted:
        article_store.demote_to_duplicate(conn, old, original, similarity)
    article_store.link_to_feed(conn, linked + [r["id"] for r in rows], feed_id, fetched_at)
    return new, duplicates


def _load_window(conn: Connection, index: dedup.NearDuplicateIndex, articles: list[Article]) -> None:
    """Load stored originals around these articles' publication times into the index."""
    if not articles:
        return
    start = min(a.published_at for a in articles)
    end = max(a.published_at for a in articles)
    for lo, hi in index.missing_spans(start, end):
        for article_id, published_at, blob in article_store.original_signatures(conn, lo, hi):
            minhash = dedup.signature_from_bytes(blob)
            if minhash is not None:
                index.add(article_id, published_at, minhash)
    index.mark_loaded(start, end)


def _with_fulltext(engine: Engine, items: list[_Item], fetch_page: PageFetcher) -> list[_Item]:
    """Fetch and extract the page of each article not stored yet (outside any transaction)."""
    # Imported here: trafilatura takes ~0.7 s to import, and only fulltext feeds need it.
    from monitor.ingest.fulltext import extract_fulltext
    with engine.connect() as conn:
        known = article_store.existing_ids(conn, [i.article.id for i in items])
    out = []
    for item in items:
        if item.article.id in known or not item.article.url:
            out.append(item)
            continue
        result = extract_fulltext(item.article.url, fetch_page)
        if result.text:
            article = replace(item.article, fulltext=result.text)
            out.append(_Item(article, _signature_bytes(article)))
        else:
            out.append(_Item(item.article, item.signature, result.error))
    return out
