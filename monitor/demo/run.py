"""`monitor demo`: the whole job on the bundled corpus, offline, in under a minute.

Serve the corpus as feeds on loopback, fetch them through the real fetcher (so conditional
GET and feed health are exercised), analyse, write this week's digest, and start the
dashboard. A second run reuses the database: feeds answer 304 and nothing is doubled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from monitor.analyze.runner import run_analysis
from monitor.config import load_settings
from monitor.demo.loader import load_items
from monitor.demo.server import PREFERRED_PORT, FeedServer
from monitor.demo.setup import feed_documents, previous_port, write_config
from monitor.ingest.runner import FetchOptions, run_fetch
from monitor.present.digest import build_digest, write_digest
from monitor.store import open_engine

Echo = Callable[[str], None]


@dataclass
class DemoResult:
    config_path: Path
    db_url: str
    digest_files: list[Path] = field(default_factory=list)
    fetch_report: object = None
    analysis: dict = field(default_factory=dict)
    requests_304: int = 0
    requests: int = 0


def demo_week() -> str:
    """The last full ISO week of the corpus: the digest the demo shows."""
    latest = max(item.published for item in load_items()).date()
    monday_of_latest_week = latest - timedelta(days=latest.weekday())
    last_full = monday_of_latest_week - timedelta(days=7)
    year, week, _ = last_full.isocalendar()
    return f"{year}-W{week:02d}"


def corpus_view() -> str:
    """Dashboard filters spanning the whole corpus, as a URL query string."""
    items = load_items()
    first, last = items[0].published.date(), items[-1].published.date()
    return f"from={first.isoformat()}&to={last.isoformat()}&period=quarter"


def run_demo(directory: Path, *, echo: Echo = print) -> DemoResult:
    """Fetch, analyse and write the digest into `directory`; return what happened."""
    started = time.perf_counter()
    directory = directory.resolve()
    documents = feed_documents()
    echo(f"demo corpus: {len(load_items())} items in {len(documents)} feeds")
    with FeedServer(documents, port=previous_port(directory) or PREFERRED_PORT) as server:
        config_path = write_config(directory, server.base_url)
        settings = load_settings(config_path)
        db_url = settings.database_url()
        engine = open_engine(db_url)
        echo(f"serving the feeds at {server.base_url}/feeds/; database {db_url}")
        report = run_fetch(engine, settings, FetchOptions(all_feeds=True))
        echo(f"fetch: {report.ok} ok, {report.not_modified} not modified, {report.failed} failed; "
             f"{report.new_articles} new articles")
        result = DemoResult(config_path=config_path, db_url=db_url, fetch_report=report,
                            requests=len(server.requests),
                            requests_304=sum(1 for _, status in server.requests if status == 304))

    def step(name: str, counts: dict, seconds: float) -> None:
        shown = ", ".join(f"{k} {v}" for k, v in counts.items() if isinstance(v, (int, float)))
        echo(f"analyze {name}: {shown} ({seconds:.1f}s)")

    result.analysis = run_analysis(engine, settings, on_step=step)
    week = demo_week()
    digest = build_digest(engine, settings, week=week)
    result.digest_files = write_digest(digest, directory)
    echo(f"digest {week}: " + ", ".join(str(p) for p in result.digest_files))
    echo(f"done in {time.perf_counter() - started:.1f}s")
    engine.dispose()
    return result
