"""`monitor ingest PATH...`: local feed files and folders through the same parse-and-store
path as fetched feeds, so archives and test corpora load without a network.

Parsing runs in a process pool when `workers` > 1 (parse and normalise are CPU-bound and
pure); storing stays in this process, one transaction per file, in path order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.engine import Engine

from monitor.errors import FeedError, InputError
from monitor.ingest.language import load_detector
from monitor.ingest.pipeline import DocumentOutcome, PreparedDocument, prepare_document, store_prepared
from monitor.models import FeedRef, RunReport
from monitor.store.articles import set_parse_warning
from monitor.store.feeds import ensure_feed
from monitor.workers import exit_with_parent

FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".json", ".feed", ".cdf"}
CONTENT_TYPES = {".json": "application/feed+json"}
DEFAULT_MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class FileFailure:
    """Why one file could not be ingested (a plain record: it crosses process boundaries)."""

    error_class: str
    message: str


@dataclass(frozen=True)
class FileResult:
    """What ingesting one file did: its outcome, or the failure that stopped it."""

    path: Path
    outcome: DocumentOutcome | None
    failure: FileFailure | None


@dataclass(frozen=True)
class IngestOptions:
    """Metadata `monitor ingest` gives every article (feeds.yaml's per-feed fields)."""

    outlet: str | None = None
    group: str = "other"
    language: str | None = None
    feed_name: str | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    workers: int = 1


def feed_files(paths: Iterable[Path]) -> list[Path]:
    """The files to ingest: each file given, and feed-like files under each folder, sorted.
    A path that does not exist is an InputError before anything is stored."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file()
                                and p.suffix.lower() in FEED_SUFFIXES
                                and not any(part.startswith(".") for part in p.relative_to(path).parts)))
        elif path.is_file():
            found.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    return found


def feed_ref_for(path: Path, options: IngestOptions) -> FeedRef:
    """ingest:<feed name, outlet or file stem>; one feed per file unless a name is given."""
    label = options.feed_name or options.outlet or path.stem
    name = label if label.startswith("ingest:") else f"ingest:{label}"
    return FeedRef(name=name[:200], url=path.resolve().as_uri(), outlet=options.outlet or path.stem,
                   group=options.group, language=options.language)


def ingest_paths(engine: Engine, paths: Iterable[Path], options: IngestOptions = IngestOptions(),
                 *, on_file: Callable[[FileResult], None] | None = None) -> RunReport:
    """Ingest every feed file under `paths`; a broken file is reported, never fatal."""
    started = time.monotonic()
    files = feed_files(paths)
    report = RunReport()
    for path, prepared in _prepared(files, options):
        result = _store_one(engine, path, prepared, options, report)
        if on_file is not None:
            on_file(result)
    report.duration_s = round(time.monotonic() - started, 3)
    return report


def _prepared(files: list[Path], options: IngestOptions
              ) -> Iterator[tuple[Path, PreparedDocument | FileFailure]]:
    jobs = [(path, options) for path in files]
    if options.workers <= 1 or len(files) < 2:
        yield from zip(files, map(_prepare_file, jobs))
        return
    load_detector()   # once here rather than in every (forked) worker
    with ProcessPoolExecutor(max_workers=options.workers, initializer=exit_with_parent) as pool:
        yield from zip(files, pool.map(_prepare_file, jobs, chunksize=4))




def _prepare_file(job: tuple[Path, IngestOptions]) -> PreparedDocument | FileFailure:
    """Read and prepare one file (runs in a worker process); failures are returned."""
    path, options = job
    fetched_at = datetime.now(timezone.utc)
    try:
        body = _read(path, options.max_bytes)
        headers = {"content-type": CONTENT_TYPES.get(path.suffix.lower(), "application/xml")}
        # No file:// base: article links must be web URLs, so relative ones resolve against
        # the feed's own <link> (and xml:base) instead; it also spares feedparser's resolver.
        return prepare_document(feed_ref_for(path, options), body, headers,
                                fetched_at=fetched_at, base_url="")
    except FeedError as exc:
        return FileFailure(exc.error_class, str(exc))


def _read(path: Path, max_bytes: int) -> bytes:
    try:
        with path.open("rb") as handle:
            body = handle.read(max_bytes + 1)
    except OSError as exc:
        raise FeedError(f"cannot read: {exc.strerror or exc}", error_class="unreadable") from None
    if len(body) > max_bytes:
        raise FeedError(f"larger than {max_bytes} bytes", error_class="too_large")
    return body


def _store_one(engine: Engine, path: Path, prepared: PreparedDocument | FileFailure,
               options: IngestOptions, report: RunReport) -> FileResult:
    ref = feed_ref_for(path, options)
    with engine.begin() as conn:
        feed_id = ensure_feed(conn, ref)
        set_parse_warning(conn, feed_id, None if isinstance(prepared, FileFailure) else prepared.problem)
    if isinstance(prepared, FileFailure):
        report.failed += 1
        report.failures.append(f"{path}: {prepared.error_class}: {prepared.message}")
        return FileResult(path, None, prepared)
    fetched_at = prepared.articles[0].fetched_at if prepared.articles else datetime.now(timezone.utc)
    outcome = store_prepared(engine, feed_id, prepared, fetched_at=fetched_at)
    report.ok += 1
    report.new_articles += outcome.new_items
    report.seen_articles += outcome.total_items
    report.duplicates += outcome.duplicates
    if outcome.problem:
        report.warnings.append(f"{path}: {outcome.problem}")
    return FileResult(path, outcome, None)
