"""Every file of feedparser's and gofeed's test corpora goes through the ingest path
(one SQLite database for the whole corpus) without an unhandled exception, and each either
yields articles or a recorded problem (a parse warning, or a not_a_feed failure)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.ingest.files import FileResult, IngestOptions, feed_files, ingest_paths
from monitor.store import open_engine
from monitor.store.schema import article_feeds

pytestmark = [pytest.mark.shared]


def corpus_files(root: Path) -> list[Path]:
    """feedparser's data files (all of them) and gofeed's .xml inputs (its .json files are
    expected outputs, not feeds)."""
    feedparser = feed_files([root / "feedparser"])
    gofeed = [p for p in feed_files([root / "gofeed"]) if p.suffix == ".xml"]
    return feedparser + gofeed


def test_whole_corpus_is_ingested_or_explained(shared_data, sqlite_url):
    root = shared_data / "feed_parser_conformance"
    files = corpus_files(root)
    assert len(files) == 2107 + 541
    engine = open_engine(sqlite_url)
    results: list[FileResult] = []
    report = ingest_paths(engine, files, IngestOptions(workers=2), on_file=results.append)

    assert [r.path for r in results] == files
    assert report.ok + report.failed == len(files)
    unexplained = [r.path for r in results
                   if r.failure is None and not r.outcome.problem and r.outcome.total_items == 0]
    assert unexplained == []
    failures = {r.failure.error_class for r in results if r.failure is not None}
    assert failures <= {"not_a_feed"}
    with_entries = [r for r in results if r.outcome and r.outcome.total_items]
    assert len(with_entries) > 1000
    with engine.connect() as conn:
        linked = conn.execute(sa.select(sa.func.count(sa.distinct(article_feeds.c.feed_id)))).scalar()
    assert linked > 300    # stems repeat across folders, so files share feed rows
