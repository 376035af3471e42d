"""Crash safety: ingest and analysis killed with SIGKILL at random points leave a consistent
database, and a re-run completes with nothing doubled and nothing lost; the dashboard's
queries keep working while ingest writes. On SQLite and PostgreSQL.

Each test prints its random seed; set CRASH_SEED to replay a failing run.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections import Counter
from datetime import datetime, timezone

import pytest

import crash_helpers as ch
from monitor.demo.setup import demo_config
from monitor.ingest.pipeline import store_document
from monitor.store import open_engine, views
from monitor.store.articles import count_articles
from monitor.store.feeds import ensure_feed

TRIALS = 10


@pytest.fixture(scope="module")
def ctx():
    return ch.forkserver()


@pytest.fixture
def seed() -> int:
    value = int(os.environ.get("CRASH_SEED") or random.SystemRandom().randrange(2**32))
    print(f"CRASH_SEED={value}")   # shown by pytest when the test fails
    return value


def _wait_for(condition, what: str, timeout: float = ch.CHILD_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)


# --- ingest ----------------------------------------------------------------------------------

def _ingest_corpus(seed: int) -> list[ch.FeedDoc]:
    return ch.demo_docs(per_outlet=3) + ch.generated_docs(seed)


def _ingest_child(ctx, url: str, docs, order_seed: int):
    progress, ready = ctx.Value("i", 0), ctx.Event()
    process = ctx.Process(target=ch.ingest_docs, args=(url, docs, order_seed, progress, ready))
    process.start()
    process.shared = (progress, ready)   # kept alive until the child has unpickled them
    return process, progress


def test_ingest_killed_at_random_points_loses_and_doubles_nothing(ctx, db_url, seed):
    rng = random.Random(seed)
    docs = _ingest_corpus(seed)
    expected = ch.expected_links(docs)
    engine = open_engine(db_url)
    kills = 0
    for attempt in range(3 * TRIALS):
        target = rng.randrange(len(docs))
        process, progress = _ingest_child(ctx, db_url, docs, rng.randrange(2**32))
        _wait_for(lambda: progress.value >= target or not process.is_alive(), "the child's progress")
        time.sleep(rng.uniform(0, 0.03))   # land inside a document, not only between two
        kills += ch.kill(process)
        problems = ch.ingest_problems(engine)
        assert problems == [], f"attempt {attempt} (seed {seed}): {problems}"
        if kills == TRIALS:
            break
    assert kills == TRIALS, f"only {kills} ingests were killed while running (seed {seed})"

    process, _ = _ingest_child(ctx, db_url, docs, rng.randrange(2**32))
    ch.finish(process)
    assert ch.ingest_problems(engine) == []
    ids = ch.article_ids(engine)
    links = ch.stored_links(engine)
    assert len(ids) == len(set(ids)) == len({a for a, _ in expected})
    assert set(ids) == {a for a, _ in expected}
    assert len(links) == len(set(links)) and set(links) == expected
    feeds_per_article = Counter(article_id for article_id, _feed in links)
    assert max(feeds_per_article.values()) == 2   # items syndicated to a second feed: two links


def test_ingest_workers_exit_when_ingest_is_killed(ctx, sqlite_url, tmp_path):
    """`monitor ingest --workers N` parses in a process pool: killed with SIGKILL, it must
    not leave its workers behind, waiting forever for work."""
    folder = tmp_path / "feeds"
    folder.mkdir()
    for i, doc in enumerate(ch.generated_docs(seed=7, n_feeds=40, per_feed=20)):
        (folder / f"feed{i:02d}.xml").write_bytes(doc.body)
    process = ctx.Process(target=ch.ingest_folder, args=(sqlite_url, str(folder)))
    process.start()
    _wait_for(lambda: len(ch.child_pids(process.pid)) >= 2 or not process.is_alive(), "the pool")
    workers = ch.child_pids(process.pid)
    assert ch.kill(process) and len(workers) == 2
    try:
        _wait_for(lambda: not ch.running(workers), "the orphaned workers to exit", timeout=10)
    finally:
        for pid in ch.running(workers):
            os.kill(pid, signal.SIGKILL)
    assert ch.ingest_problems(open_engine(sqlite_url)) == []


# --- analysis --------------------------------------------------------------------------------

def _store_all(url: str, docs) -> None:
    engine = open_engine(url)
    fetched_at = datetime(2024, 6, 1, tzinfo=timezone.utc)
    for doc in docs:
        with engine.begin() as conn:
            feed_id = ensure_feed(conn, doc.ref)
        store_document(engine, feed_id, doc.ref, doc.body, ch.HEADERS, fetched_at=fetched_at,
                       base_url=doc.ref.url)
    engine.dispose()


def _analysis_child(ctx, url: str):
    ready, elapsed = ctx.Event(), ctx.Value("d", 0.0)
    process = ctx.Process(target=ch.analyze, args=(url, demo_config("http://127.0.0.1:9"), ready, elapsed))
    process.start()
    process.shared = (ready, elapsed)   # kept alive until the child has unpickled them
    return process, ready, elapsed


def test_analysis_killed_at_random_points_ends_as_a_clean_run(ctx, db_url, seed):
    rng = random.Random(seed)
    _store_all(db_url, ch.demo_docs(per_outlet=3))
    engine = open_engine(db_url)

    process, _, elapsed = _analysis_child(ctx, db_url)
    ch.finish(process)
    clean = ch.analysis_snapshot(engine)
    assert sum(r[0] is True for r in clean.relevance.values()) >= 20
    assert len(clean.story_sizes) >= 10 and len(clean.theme_groups) >= 2 and len(clean.frames) >= 20
    duration = elapsed.value

    kills = 0
    for attempt in range(3 * TRIALS):
        # Each attempt interrupts a first analysis of the same articles at a random moment.
        ch.forget_analysis(engine)
        process, ready, _ = _analysis_child(ctx, db_url)
        _wait_for(lambda: ready.is_set() or not process.is_alive(), "the child to open the database")
        time.sleep(rng.uniform(0, duration))
        killed = ch.kill(process)
        problems = ch.half_written(ch.analysis_snapshot(engine), clean)
        assert problems == [], f"attempt {attempt} (seed {seed}): {problems[:10]}"
        if not killed:
            duration *= 0.8   # the run beat the kill (a quieter machine): aim earlier
            continue
        kills += 1
        if kills % 3 == 0:   # three of the ten kills are followed by a run to completion
            process, _, _ = _analysis_child(ctx, db_url)
            ch.finish(process)
            after = ch.analysis_snapshot(engine)
            assert after == clean, f"attempt {attempt} (seed {seed}): {_difference(after, clean)}"
        if kills == TRIALS:
            break
    assert kills == TRIALS, f"only {kills} analyses were killed while running (seed {seed})"


def _difference(after: ch.AnalysisSnapshot, clean: ch.AnalysisSnapshot) -> list[str]:
    return [name for name in ch.AnalysisSnapshot.__dataclass_fields__
            if getattr(after, name) != getattr(clean, name)]


# --- reading while writing -------------------------------------------------------------------

def _dashboard_reads(engine) -> dict[str, int]:
    """The overview, sources and articles pages' queries; returns the counts that must grow."""
    everything = views.ArticleFilter(start=datetime(1970, 1, 1, tzinfo=timezone.utc),
                                     end=datetime(2100, 1, 1, tzinfo=timezone.utc))
    with engine.connect() as conn:
        views.filter_options(conn)
        views.key_numbers(conn, everything)
        views.daily_volume(conn, everything)
        views.top_stories(conn, everything)
        views.outlet_volume(conn, everything)
        views.failing_feed_count(conn)
        found, total = views.search_articles(conn, everything, relevant_only=False, limit=50)
        assert len(found) <= 50   # the count and the rows are two statements: not compared
        return {"articles": count_articles(conn), "search": total}


def test_dashboard_reads_while_ingest_writes_without_errors(ctx, db_url, seed):
    docs = _ingest_corpus(seed)
    engine = open_engine(db_url)
    errors: list[BaseException] = []
    seen: list[dict[str, int]] = []
    done = threading.Event()

    def read_until_done() -> None:
        while not done.is_set():
            try:
                seen.append(_dashboard_reads(engine))
            except BaseException as exc:   # noqa: BLE001 - every failure is the finding
                errors.append(exc)

    reader = threading.Thread(target=read_until_done)
    reader.start()
    try:
        process, progress = _ingest_child(ctx, db_url, docs, seed)
        ch.finish(process)
    finally:
        done.set()
        reader.join()
    seen.append(_dashboard_reads(engine))
    assert errors == [], f"seed {seed}: {errors[:3]!r}"
    assert progress.value == len(docs)
    expected = len({a for a, _ in ch.expected_links(docs)})
    assert seen[-1] == {"articles": expected, "search": expected}
    assert len({s["articles"] for s in seen}) >= 3, "the reader never saw ingest in progress"
    for before, after in zip(seen, seen[1:]):
        assert after["articles"] >= before["articles"] and after["search"] >= before["search"]
