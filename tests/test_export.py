"""`monitor export`: one row per article, story, theme or frame score in CSV, JSONL and Parquet."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from monitor.analyze.jobs import stories as stories_job
from monitor.analyze.jobs import themes as themes_job
from monitor.cli import main
from monitor.config import parse_settings
from monitor.errors import InputError
from monitor.present.export import COLUMNS, export
from monitor.store import open_engine
from monitor.store.schema import articles, frame_scores

T0 = datetime(2022, 11, 15, 8, 0, tzinfo=timezone.utc)
SUBJECTS = {
    "law": ("Draft social credit law published", "draft law social credit legislature comment"),
    "bans": ("Travel bans for court debtors", "court debtor travel ban flight train dishonest"),
    "firms": ("Corporate credit ratings for foreign firms", "company rating foreign chamber compliance"),
}


def _fill(engine) -> None:
    rows = []
    for s, (title, words) in enumerate(SUBJECTS.values()):
        for n in range(12):
            rows.append({"id": f"{s}-{n}", "url": f"https://example.org/{s}/{n}",
                         "title": f"{title} ({n})", "summary": f"{words} {words}",
                         "published_at": T0 + timedelta(days=10 * s, hours=n),
                         "fetched_at": T0, "language": "en", "outlet": f"Outlet {n % 3}",
                         "feed": f"feed-{n % 3}", "group_name": "western", "relevant": True,
                         "relevance_score": 0.9})
    rows.append({"id": "evil", "url": "https://example.org/evil", "title": "=HYPERLINK(\"http://x\")",
                 "summary": "", "published_at": T0, "fetched_at": T0, "language": "en",
                 "outlet": "Troll", "feed": "troll", "group_name": "other", "relevant": False,
                 "relevance_score": 0.1})
    with engine.begin() as conn:
        conn.execute(articles.insert(), rows)
        conn.execute(frame_scores.insert(), [
            {"article_id": "0-0", "frame": "rule-of-law", "score": 0.8, "present": True, "source": "codebook"},
            {"article_id": "0-0", "frame": "surveillance", "score": 0.3, "present": True, "source": "codebook"},
            {"article_id": "0-0", "frame": "economy", "score": 0.1, "present": False, "source": "codebook"},
        ])
    settings = parse_settings("topic: {name: test}\nanalysis: {themes: 3}\n")
    stories_job.run(engine, settings)
    themes_job.run(engine, settings)


@pytest.fixture
def engine(db_url):
    engine = open_engine(db_url)
    _fill(engine)
    return engine


def test_articles_export_as_csv_has_the_documented_columns(engine):
    out = io.StringIO()
    assert export(engine, "articles", "csv", stream=out) == 37
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == COLUMNS["articles"]
    first = next(r for r in rows if r["id"] == "0-0")
    assert first["frames"] == "rule-of-law; surveillance"
    assert first["story_id"].startswith("s-") and first["theme_id"].startswith("t-")
    assert first["theme_label"] and first["published"] == "2022-11-15T08:00:00+00:00"
    assert first["relevant"] == "True" and first["group"] == "western"
    evil = next(r for r in rows if r["id"] == "evil")
    assert evil["title"] == "'=HYPERLINK(\"http://x\")"   # not run as a formula by spreadsheets
    assert evil["story_id"] == "" and evil["frames"] == ""


def test_jsonl_keeps_lists_and_nulls(engine):
    out = io.StringIO()
    export(engine, "articles", "jsonl", stream=out)
    records = {r["id"]: r for r in map(json.loads, out.getvalue().splitlines())}
    assert records["0-0"]["frames"] == ["rule-of-law", "surveillance"]
    assert records["evil"]["theme_id"] is None and records["evil"]["title"].startswith("=")
    assert records["1-3"]["relevance_score"] == 0.9
    story_ids = {records[f"1-{n}"]["story_id"] for n in range(12)}
    assert len(story_ids) == 1   # one subject on consecutive hours: one story


def test_parquet_stories_themes_and_frames(engine, tmp_path):
    for kind, expected in (("stories", 3), ("themes", 3), ("frames", 3)):
        path = tmp_path / f"{kind}.parquet"
        assert export(engine, kind, "parquet", path) == expected
        frame = pd.read_parquet(path)
        assert tuple(frame.columns) == COLUMNS[kind]
    stories = pd.read_parquet(tmp_path / "stories.parquet")
    assert sorted(stories["article_count"]) == [12, 12, 12]
    assert list(stories.iloc[0]["outlets"]) == ["Outlet 0", "Outlet 1", "Outlet 2"]
    themes = pd.read_parquet(tmp_path / "themes.parquet")
    assert set(themes["size"]) == {12} and all(len(h) == 3 for h in themes["headlines"])


def test_bad_requests_are_user_errors(engine, tmp_path):
    with pytest.raises(InputError, match="--out"):
        export(engine, "articles", "parquet")
    with pytest.raises(InputError, match="unknown export"):
        export(engine, "authors", "csv", stream=io.StringIO())
    with pytest.raises(InputError, match="does not exist"):
        export(engine, "articles", "csv", tmp_path / "missing" / "a.csv")


def test_cli_export_and_listings(sqlite_url, tmp_path, capsys):
    _fill(open_engine(sqlite_url))
    config = tmp_path / "feeds.yaml"
    config.write_text("topic: {name: test}\n", encoding="utf-8")
    target = tmp_path / "articles.jsonl"
    base = ["--config", str(config), "--db", sqlite_url]
    assert main([*base, "export", "articles", "--format", "jsonl", "--out", str(target), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 37
    assert len(target.read_text(encoding="utf-8").splitlines()) == 37
    assert main([*base, "stories", "--json"]) == 0
    assert sorted(s["article_count"] for s in json.loads(capsys.readouterr().out)) == [12, 12, 12]
    assert main([*base, "themes"]) == 0
    assert capsys.readouterr().out.count("e.g. ") == 3
    assert main([*base, "export", "articles", "--format", "parquet"]) == 2
    assert "--out" in capsys.readouterr().err
