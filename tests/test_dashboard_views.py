"""The dashboard's queries (monitor.store.views) on SQLite and PostgreSQL, on the known
fixture database: every number below is counted by hand from dashboard_fixtures.ARTICLES."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from dashboard_fixtures import build_dashboard_db
from monitor.dashboard import shape
from monitor.store import open_engine, views
from monitor.store.views import ArticleFilter

WEEK = ArticleFilter(start=datetime(2026, 11, 20, tzinfo=timezone.utc),
                     end=datetime(2026, 11, 27, tzinfo=timezone.utc))
YEAR = ArticleFilter(start=datetime(2025, 11, 27, tzinfo=timezone.utc),
                     end=datetime(2026, 11, 27, tzinfo=timezone.utc))


@pytest.fixture
def conn(db_url):
    build_dashboard_db(db_url)
    engine = open_engine(db_url)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def test_key_numbers_count_relevant_originals_of_the_window(conn):
    assert views.key_numbers(conn, WEEK) == {"articles": 5, "outlets": 4, "languages": 3, "stories": 2,
                                             "new_stories": 2}
    assert views.key_numbers(conn, WEEK.previous()) == {"articles": 2, "outlets": 2, "languages": 2,
                                                        "stories": 1, "new_stories": 1}
    assert views.key_numbers(conn, ArticleFilter(WEEK.start, WEEK.end, groups=("russian",)))["articles"] == 1
    assert views.failing_feed_count(conn) == 1


def test_daily_volume_and_filter_options(conn):
    rows = views.daily_volume(conn, YEAR)
    assert sum(r["articles"] for r in rows) == 9
    assert {"day": "2026-11-24", "group": "chinese-state", "language": "zh", "articles": 1} in rows
    monthly = shape.by_period(rows, "month", [])
    assert monthly.set_index("period")["articles"].to_dict()[datetime(2026, 11, 1)] == 7
    options = views.filter_options(conn)
    assert options["languages"] == ["en", "ru", "zh"]
    assert options["outlets"] == sorted(["Global Wire", "Policy Lab", "Вести", "华夏日报"])
    assert options["last"] == datetime(2026, 11, 26, 12, tzinfo=timezone.utc)


def test_top_stories_are_widest_first_and_story_frames_skip_copies(conn):
    top = views.top_stories(conn, YEAR, 3)
    assert [(s["id"], s["outlets"], s["languages"], s["articles"]) for s in top] == \
        [("s1", 3, 3, 3), ("s3", 2, 2, 2), ("s2", 2, 1, 2)]
    mix = {(r["outlet"], r["frame"]): (r["articles"], r["outlet_articles"])
           for r in views.story_frame_mix(conn, "s1")}
    assert mix[("Global Wire", "law")] == (1, 1)   # a6, a copy of a1, is not counted twice
    assert mix[("Вести", "surveillance")] == (1, 1)


def test_frame_counts_and_shares_by_group(conn):
    carried = views.daily_frame_counts(conn, YEAR, "group")
    scored = views.daily_scored_counts(conn, YEAR, "group")
    shares = shape.frame_shares(carried, scored, "month")
    row = shares[(shares["scope"] == "western") & (shares["frame"] == "surveillance")
                 & (shares["period"] == datetime(2026, 11, 1))].iloc[0]
    assert (row["carried"], row["scored"]) == (2, 3)   # a5 and b1 of a1, a5, b1
    assert 0 < row["low"] < 2 / 3 < row["high"] < 1


def test_search_is_case_insensitive_and_escapes_wildcards(conn):
    found, total = views.search_articles(conn, YEAR, "DRAFT")
    assert total == 2 and sorted(r["id"] for r in found) == ["a1", "a4"]
    assert views.search_articles(conn, YEAR, "%")[1] == 0          # a literal percent sign
    later = ArticleFilter(YEAR.start, datetime(2026, 11, 28, tzinfo=timezone.utc))
    assert views.search_articles(conn, later, "alberta")[1] == 0    # irrelevant ...
    assert views.search_articles(conn, later, "alberta", relevant_only=False)[1] == 1   # ... unless asked
    found, _ = views.search_articles(conn, YEAR, "失信")
    assert [r["id"] for r in found] == ["b2"]


def test_article_detail_names_its_story_theme_and_frames(conn):
    detail = views.article_detail(conn, "a3")
    assert detail["story_headline"] == "Draft Social Credit Law published for comment"
    assert detail["theme_label"] == "blacklists · law · 失信"
    assert sorted(f["frame"] for f in detail["frames"] if f["present"]) == ["law", "surveillance"]
    assert views.article_detail(conn, "missing") is None


def test_annotations_record_the_annotator(conn):
    views.add_annotation(conn, "a7", "relevance", {"relevant": True}, "ana@example.org")
    views.add_annotation(conn, "a7", "relevance", {"relevant": False}, "bo@example.org")
    views.add_annotation(conn, "a1", "frames", ["law"], "ana@example.org")
    assert views.annotation_counts(conn) == {"relevance": 1, "frames": 1}
    assert [(a["value"], a["annotator"]) for a in views.annotations_of(conn, "a7")] == \
        [({"relevant": True}, "ana@example.org"), ({"relevant": False}, "bo@example.org")]
    queue = views.articles_to_annotate(conn, YEAR, "relevance", threshold=0.5)
    assert "a7" not in [r["id"] for r in queue] and "a6" not in [r["id"] for r in queue]
    with pytest.raises(ValueError):
        views.add_annotation(conn, "a1", "mood", {}, "x")
