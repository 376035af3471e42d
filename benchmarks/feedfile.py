"""Write plain items as one RSS 2.0 file, so benchmarks can go through the real ingest path."""

from __future__ import annotations

from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from sqlalchemy.engine import Engine

from monitor.analyze.jobs import relevance
from monitor.config import Settings, parse_settings
from monitor.ingest.files import IngestOptions, ingest_paths
from monitor.models import RunReport
from monitor.store import open_engine


def write_rss(path: Path, title: str, items: list[dict]) -> Path:
    """Items: dicts with url, title, body (plain text) and published (aware datetime)."""
    parts = ['<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
             f"<title>{escape(title)}</title><link>https://example.org/</link>"]
    for item in items:
        body = "".join(f"<p>{escape(p)}</p>" for p in item["body"].split("\n\n"))
        parts.append(f"<item><title>{escape(item['title'])}</title><link>{escape(item['url'])}</link>"
                     f"<guid>{escape(item['url'])}</guid>"
                     f"<pubDate>{format_datetime(item['published'])}</pubDate>"
                     f"<description>{escape(body)}</description></item>")
    parts.append("</channel></rss>\n")
    path.write_text("".join(parts), encoding="utf-8")
    return path


def ingest_labelled_set(folder: Path, name: str, items: list[dict], outlet: str
                        ) -> tuple[Engine, Settings, RunReport]:
    """Items written as one English RSS file in `folder`, ingested into a fresh SQLite
    database there and judged by the relevance job with a topic that keeps every article."""
    feed = write_rss(folder / f"{outlet}.xml", name, items)
    engine = open_engine(f"sqlite:///{folder}/monitor.db")
    report = ingest_paths(engine, [feed], IngestOptions(outlet=outlet, language="en"))
    settings = parse_settings(f"topic: {{name: {name}}}\n")
    relevance.run(engine, settings, full=True)
    return engine, settings, report
