"""A fetch run: sync feeds from settings, fetch the due ones concurrently and politely, hand
each new body to the parse-and-store pipeline, and record every attempt and the feed's health.

One event loop does all network I/O; database work (parsing included) runs in a small
thread pool so it never stalls the downloads. A feed's failure, whatever it is, is recorded
against that feed and never stops the run.
"""

from __future__ import annotations

import asyncio
import math
import os
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote_plus, urlsplit

import httpx
from sqlalchemy.engine import Engine

from monitor.config import Feed, Settings, Topic
from monitor.errors import FeedError, InputError, PermanentFetchError
from monitor.ingest.fetch import fetch_feed, fetch_page, make_client
from monitor.ingest.pipeline import store_document
from monitor.ingest.politeness import Politeness
from monitor.ingest.schedule import (Bounds, failure_interval, is_permanent, next_due, retry_delay,
                                     success_interval, updated_rate)
from monitor.models import FeedRef, FetchResult, RunReport
from monitor.store import feeds as feed_store

# In-run retries wait longer than this for a Retry-After? Then give up and poll later.
MAX_IN_RUN_WAIT_S = 30.0


@dataclass(frozen=True)
class FetchOptions:
    """What to fetch in a run and how patiently."""

    feed: str | None = None        # one feed (or one search feed's expansions) by name
    all_feeds: bool = False        # ignore next-due times
    force: bool = False            # ignore next-due times (meant with `feed`)
    worker: bool = False           # share the queue with other workers through leases
    retry_base_s: float = 1.0      # first in-run retry pause; doubles, with jitter
    lease_s: float | None = None   # worker lease length (default: from the fetch timeouts)
    idle_poll_s: float = 1.0       # how often a worker looks again while others hold leases


def run_fetch(engine: Engine, settings: Settings, options: FetchOptions = FetchOptions()) -> RunReport:
    """Run one fetch (or, with `options.worker`, drain the shared queue) and summarise it."""
    return asyncio.run(fetch_feeds(engine, settings, options))


async def fetch_feeds(engine: Engine, settings: Settings, options: FetchOptions) -> RunReport:
    started = time.monotonic()
    report = RunReport()
    configured = configured_feeds(settings)
    with engine.begin() as conn:
        feed_store.lock_feed_sync(conn)
        feed_store.sync_feeds(conn, [(ref, feed.enabled) for ref, feed in configured.values()])
    names = _selected_names(configured, options.feed)
    pool = ThreadPoolExecutor(max_workers=1 if engine.dialect.name == "sqlite" else 4)
    try:
        async with make_client(settings.fetch) as client:
            run = FeedFetcher(engine, settings, configured, client, pool, report, options)
            if options.worker:
                await run.drain_queue(names)
            else:
                await run.fetch_selected(names)
    finally:
        pool.shutdown(wait=True)
    report.duration_s = time.monotonic() - started
    return report


def configured_feeds(settings: Settings) -> dict[str, tuple[FeedRef, Feed]]:
    """Feed name -> (its FeedRef, its settings), search feeds expanded per language."""
    out: dict[str, tuple[FeedRef, Feed]] = {}
    for feed in settings.feeds:
        for ref in expand_feed(feed, settings.topic, settings.base_dir):
            out[ref.name] = (ref, feed)
    return out


def expand_feed(feed: Feed, topic: Topic, base_dir: Path) -> list[FeedRef]:
    """A plain feed as one FeedRef; a search feed (`{query}` in its URL) as one per language
    (its own language, or each topic language), the query being the include terms ORed."""
    def ref(name: str, url: str, language: str | None) -> FeedRef:
        return FeedRef(name=name, url=_absolute_file_url(url, base_dir), outlet=feed.outlet_name,
                       group=feed.group, language=language, country=feed.country)

    if not feed.is_search:
        return [ref(feed.name, feed.url, feed.language)]
    languages = (feed.language,) if feed.language else topic.languages
    refs = []
    for language in languages:
        terms = topic.include.get(language, ())
        if not terms:
            continue
        query = " OR ".join(f'"{term}"' if " " in term else term for term in terms)
        name = feed.name if feed.language else f"{feed.name}:{language}"
        refs.append(ref(name, feed.url.replace("{query}", quote_plus(query)), language))
    return refs


def _absolute_file_url(url: str, base_dir: Path) -> str:
    """file: URLs with a relative path are read relative to feeds.yaml's folder."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "file" or parts.netloc or parts.path.startswith("/"):
        return url
    return (base_dir / parts.path).resolve().as_uri()


def _selected_names(configured: dict[str, tuple[FeedRef, Feed]], wanted: str | None) -> list[str]:
    if wanted is None:
        return list(configured)
    names = [name for name, (_, feed) in configured.items() if wanted in (name, feed.name)]
    if not names:
        known = ", ".join(sorted(configured)) or "none"
        raise InputError(f"--feed {wanted}: no such feed in the configuration (known: {known})")
    return names


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class FeedFetcher:
    """Fetches feeds of one run; each `fetch_one` records its own outcome."""

    def __init__(self, engine: Engine, settings: Settings, configured: dict[str, tuple[FeedRef, Feed]],
                 client: httpx.AsyncClient, pool: ThreadPoolExecutor, report: RunReport,
                 options: FetchOptions):
        self.engine, self.settings, self.configured = engine, settings, configured
        self.client, self.pool, self.report, self.options = client, pool, report, options
        limits = settings.fetch
        self.politeness = Politeness(limits.concurrency, limits.per_host, limits.host_delay)
        self.worker = worker_id() if options.worker else None
        self.outcomes = OutcomeWriter(engine, pool, self.worker)

    async def fetch_selected(self, names: list[str]) -> None:
        due_only = not (self.options.all_feeds or self.options.force)
        rows = await self._db(self._select, names, due_only)
        await asyncio.gather(*(self.fetch_one(row) for row in rows))

    def _select(self, names: list[str], due_only: bool):
        with self.engine.connect() as conn:
            return feed_store.feeds_to_fetch(conn, names, now=feed_store.utcnow(), due_only=due_only)

    async def drain_queue(self, names: list[str]) -> None:
        """Claim due feeds in batches under a lease until none is due, leased or not."""
        fetch = self.settings.fetch
        # A lease covers the worst case of a whole batch queued behind the per-host limit.
        rounds = math.ceil(fetch.concurrency / fetch.per_host)
        lease_s = self.options.lease_s or fetch.total_timeout * (fetch.retries + 2) * rounds + 5.0
        while True:
            rows = await self._db(self._claim, names, lease_s)
            if rows:
                await asyncio.gather(*(self.fetch_one(row) for row in rows))
            elif await self._db(self._pending, names):
                await asyncio.sleep(self.options.idle_poll_s)   # others hold leases; wait
            else:
                return

    def _claim(self, names: list[str], lease_s: float):
        with self.engine.begin() as conn:
            return feed_store.claim_due_feeds(conn, names, worker=self.worker, now=feed_store.utcnow(),
                                              lease_s=lease_s, limit=self.settings.fetch.concurrency)

    def _pending(self, names: list[str]) -> int:
        with self.engine.connect() as conn:
            return feed_store.pending_feed_count(conn, names, now=feed_store.utcnow())

    async def fetch_one(self, row) -> None:
        """Fetch, store and record one feed; never raises for the feed's own problems."""
        ref, feed = self.configured[row.name]
        ref = FeedRef(name=ref.name, url=row.url, outlet=ref.outlet, group=ref.group,
                      language=ref.language, country=ref.country)
        attempts: list[dict] = []
        started_at = feed_store.utcnow()
        try:
            result = await self._fetch_with_retries(row, attempts)
            document = None
            if not result.not_modified:
                pages = self._page_fetcher(asyncio.get_running_loop()) if feed.fulltext else None
                document = await self._db(self._store, row.id, ref, result, started_at, pages)
        except Exception as exc:   # even a bug met on one hostile feed must not end the run
            error = exc if isinstance(exc, FeedError) else FeedError(
                f"{ref.url}: {type(exc).__name__}: {exc}", error_class="internal_error")
            attempts.append(_attempt(started_at, row.url, error, self.worker))
            health = self._failure_health(row, feed, error, started_at)
            if await self.outcomes.write(row.id, attempts, health):
                self.report.failed += 1
                self.report.failures.append(f"{row.name}: {error}")
            else:
                self._lease_lost(row)
            return
        attempts.append(_success_attempt(started_at, result, document, self.worker))
        health = self._success_health(row, feed, result, document, started_at)
        if await self.outcomes.write(row.id, attempts, health):
            self._report_success(row, result, document)
        else:
            self._lease_lost(row)

    def _report_success(self, row, result: FetchResult, document) -> None:
        if result.permanent_redirect and result.permanent_redirect != row.url:
            self.report.warnings.append(f"{row.name}: moved permanently from {row.url} to "
                                        f"{result.permanent_redirect}; stored URL updated "
                                        "(update feeds.yaml to match)")
        if document is None:
            self.report.not_modified += 1
            return
        self.report.ok += 1
        self.report.new_articles += document.new_items
        self.report.seen_articles += document.total_items
        self.report.duplicates += getattr(document, "duplicates", 0)
        if document.problem:
            self.report.warnings.append(f"{row.name}: {document.problem}")

    def _lease_lost(self, row) -> None:
        self.report.warnings.append(f"{row.name}: lease lost to another worker; its outcome stands")

    async def _fetch_with_retries(self, row, attempts: list[dict]) -> FetchResult:
        retries = self.settings.fetch.retries
        for attempt in range(retries + 1):
            tried_at = feed_store.utcnow()
            try:
                async with self.politeness.slot(row.url):
                    return await fetch_feed(self.client, row.url, self.settings.fetch, etag=row.etag,
                                            last_modified=row.last_modified,
                                            content_hash=row.content_hash)
            except PermanentFetchError:
                raise
            except FeedError as exc:
                wait = getattr(exc, "retry_after", None) or retry_delay(attempt + 1, self.options.retry_base_s)
                if attempt == retries or exc.error_class == "not_found" or wait > MAX_IN_RUN_WAIT_S:
                    raise
                attempts.append({**_attempt(tried_at, row.url, exc, self.worker), "outcome": "retried"})
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    def _store(self, feed_id: int, ref: FeedRef, result: FetchResult, fetched_at: datetime,
               fetch_page: Callable[[str], bytes] | None):
        # Runs in the DB thread, outside the event loop.
        return store_document(self.engine, feed_id, ref, result.body, result.headers,
                              fetched_at=fetched_at, base_url=result.url, fetch_page=fetch_page)

    def _page_fetcher(self, loop: asyncio.AbstractEventLoop) -> Callable[[str], bytes]:
        """A full-text page fetcher for the DB thread: each page is fetched on the event
        loop through the same politeness slots as feeds (global and per-host limits, the
        gap between requests to one host) and the same connection pools."""
        async def fetch(url: str) -> bytes:
            async with self.politeness.slot(url):
                return await fetch_page(self.client, url, self.settings.fetch)
        return lambda url: asyncio.run_coroutine_threadsafe(fetch(url), loop).result()

    async def _db(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self.pool, function, *args)

    def _success_health(self, row, feed: Feed, result: FetchResult, document, now: datetime) -> dict:
        new_items = document.new_items if document else 0
        since = now - row.last_success_at if row.last_success_at else None
        rate = updated_rate(row.entries_per_day, new_items, since)
        ttl = document.ttl_minutes if document else row.ttl_minutes
        interval = success_interval(rate, _bounds(feed, self.settings), ttl_minutes=ttl)
        health = dict(last_attempt_at=now, last_success_at=now, last_status=result.status,
                      last_error=None, last_error_class=None, consecutive_failures=0, flagged=False,
                      next_due_at=next_due(now, interval), poll_interval_s=int(interval),
                      entries_per_day=rate, ttl_minutes=ttl, etag=result.etag,
                      last_modified=result.last_modified, content_hash=result.content_hash)
        if document is not None:
            health["parse_warning"] = document.problem
        if result.permanent_redirect and result.permanent_redirect != row.url:
            health["url"] = result.permanent_redirect
        return health

    def _failure_health(self, row, feed: Feed, error: FeedError, now: datetime) -> dict:
        failures = row.consecutive_failures + 1
        permanent = is_permanent(error.error_class, isinstance(error, PermanentFetchError), failures)
        interval = failure_interval(failures, permanent, _bounds(feed, self.settings),
                                    retry_after_s=getattr(error, "retry_after", None))
        health = dict(last_attempt_at=now, last_status=error.status, last_error=str(error)[:2000],
                      last_error_class=error.error_class, consecutive_failures=failures,
                      flagged=bool(row.flagged) or permanent, next_due_at=next_due(now, interval),
                      poll_interval_s=int(interval))
        return health


class OutcomeWriter:
    """Writes feeds' outcomes (attempt log + health) from the event loop through the DB thread.

    Outcomes that arrive while a write is in progress are written together in the next
    transaction: under load one commit serves many feeds, idle it is one per feed. A worker
    whose lease was taken over writes nothing for that feed."""

    def __init__(self, engine: Engine, pool: ThreadPoolExecutor, worker: str | None):
        self.engine, self.pool, self.worker = engine, pool, worker
        self.pending: list[tuple[int, list[dict], dict, asyncio.Future]] = []
        self.draining: asyncio.Task | None = None

    async def write(self, feed_id: int, attempts: list[dict], health: dict) -> bool:
        """True once written; False when this worker no longer holds the feed's lease."""
        future = asyncio.get_running_loop().create_future()
        self.pending.append((feed_id, attempts, health, future))
        if self.draining is None or self.draining.done():
            self.draining = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self.pending:
            batch, self.pending = self.pending, []
            try:
                written = await loop.run_in_executor(self.pool, self._write_batch, batch)
            except Exception:   # one bad outcome must not lose the others: write one by one
                written = [await loop.run_in_executor(self.pool, self._write_one, item)
                           for item in batch]
            for (*_, future), result in zip(batch, written):
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    def _write_batch(self, batch) -> list[bool]:
        with self.engine.begin() as conn:
            return [self._write(conn, feed_id, attempts, health)
                    for feed_id, attempts, health, _ in batch]

    def _write_one(self, item) -> bool | BaseException:
        try:
            with self.engine.begin() as conn:
                return self._write(conn, *item[:3])
        except Exception as exc:
            return exc

    def _write(self, conn, feed_id: int, attempts: list[dict], health: dict) -> bool:
        if self.worker and not feed_store.holds_lease(conn, feed_id, self.worker):
            return False
        feed_store.record_attempts(conn, feed_id, attempts, health)
        return True


def _bounds(feed: Feed, settings: Settings) -> Bounds:
    return Bounds(min_s=feed.min_interval_minutes * 60.0, max_s=feed.max_interval_minutes * 60.0,
                  max_backoff_s=settings.fetch.max_backoff_days * 86400.0)


def _attempt(started_at: datetime, url: str, error: FeedError, worker: str | None) -> dict:
    elapsed = int((feed_store.utcnow() - started_at).total_seconds() * 1000)
    return dict(started_at=started_at, url=url, status=error.status, outcome="failed", bytes=0,
                duration_ms=elapsed, error_class=error.error_class, error_message=str(error)[:2000],
                new_items=0, total_items=0, worker=worker)


def _success_attempt(started_at: datetime, result: FetchResult, document, worker: str | None) -> dict:
    return dict(started_at=started_at, url=result.url, status=result.status,
                outcome="not_modified" if document is None else "ok", bytes=len(result.body),
                duration_ms=result.duration_ms, error_class=None, error_message=None,
                new_items=document.new_items if document else 0,
                total_items=document.total_items if document else 0, worker=worker)
