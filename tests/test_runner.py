"""`monitor analyze` runs jobs side by side in child processes (stories and themes; in a
small incremental run framing too); the results must be those of running every job in one
process, one after the other."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from monitor.analyze import relevance as rel
from monitor.analyze.runner import SMALL_RUN_STAGES, STAGES
from monitor.store import open_engine, schema
from monitor.store.schema import articles, frame_scores, stories, themes

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "tests" / "data" / "relevance_dev.jsonl"


def _articles() -> list[dict]:
    start = datetime(2024, 5, 1, tzinfo=timezone.utc)
    return [{"id": f"e{i}", "url": f"https://example.org/e{i}", "title": e.title, "summary": e.text,
             "language": e.language, "published_at": start + timedelta(hours=7 * i),
             "fetched_at": start + timedelta(hours=7 * i)}
            for i, e in enumerate(rel.load_labels(DEV))]


def _outcome(engine) -> tuple:
    with engine.connect() as conn:
        placed = conn.execute(sa.select(articles.c.id, articles.c.relevant, articles.c.story_id,
                                        articles.c.theme_id).order_by(articles.c.id)).all()
        story_rows = conn.execute(sa.select(stories.c.id, stories.c.headline, stories.c.article_count)
                                  .order_by(stories.c.id)).all()
        theme_rows = conn.execute(sa.select(themes.c.id, themes.c.label).order_by(themes.c.id)).all()
        frame_rows = conn.execute(sa.select(frame_scores.c.article_id, frame_scores.c.frame,
                                            frame_scores.c.score)
                                  .order_by(frame_scores.c.article_id, frame_scores.c.frame)).all()
    return placed, story_rows, theme_rows, frame_rows


def _analyze(db_url: str, *options: str) -> dict:
    """`monitor analyze` in a fresh process, as a user runs it (the jieba dictionary of a
    process grows as jobs load their terms, so each run gets its own)."""
    command = [sys.executable, "-m", "monitor", "--config", str(ROOT / "feeds.yaml"), "--db", db_url,
               "analyze", "--json", *options]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_jobs_side_by_side_equal_jobs_in_turn(db_url):
    """A full run, then an incremental one after every sixth article arrives, both ways."""
    rows = _articles()
    later = rows[::6]
    first = [row for row in rows if row not in later]
    outcomes, reports = [], []
    for options in (["--one-process"], []):
        schema.metadata.drop_all(open_engine(db_url))   # both runs start from an empty database
        engine = open_engine(db_url)
        with engine.begin() as conn:
            conn.execute(articles.insert(), first)
        full = _analyze(db_url, "--full", *options)
        with engine.begin() as conn:
            conn.execute(articles.insert(), later)
        incremental = _analyze(db_url, *options)
        reports.append((full, incremental))
        outcomes.append(_outcome(engine))
        engine.dispose()
    in_turn, side_by_side = outcomes
    assert side_by_side == in_turn
    placed, story_rows, theme_rows, frame_rows = in_turn
    assert sum(row.story_id is not None for row in placed) > 50 and len(story_rows) > 5 and theme_rows
    later_ids = {row["id"] for row in later}
    assert {row.article_id for row in frame_rows} >= {row.id for row in placed if row.id in later_ids and row.relevant}
    for full, incremental in reports:
        assert full["stories"]["articles"] > 50 and 0 < incremental["stories"]["articles"] <= len(later)
    # Every job reports once, stage after stage.
    assert list(reports[1][0]) == [name for stage in STAGES for name in stage]
    assert list(reports[1][1]) == [name for stage in SMALL_RUN_STAGES for name in stage]
