"""The dashboard's queries (monitor.store.views) on SQLite and PostgreSQL, on the known
fixture database: every number below is counted by hand from dashboard_fixtures.ARTICLES."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from dashboard_fixtures import build_dashboard_db
from monitor.dashboard import shape
from monitor.store import frame_counts, open_engine, views
from monitor.store.schema import articles, frame_day_counts, frame_scores, scored_day_counts
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


# --- the per-day frame counts kept by the framing job ---

def _frame_answers(conn, flt: ArticleFilter) -> dict:
    """Everything the Framing and Sources pages ask about frames, in a comparable form."""
    answers = {"outlets": sorted(tuple(r.values()) for r in views.outlet_frame_counts(conn, flt))}
    for scope in (None, "group", "language", "outlet"):
        answers[f"carried {scope}"] = sorted(tuple(r.values()) for r in views.daily_frame_counts(conn, flt, scope))
        answers[f"scored {scope}"] = sorted(tuple(r.values()) for r in views.daily_scored_counts(conn, flt, scope))
    return answers


FILTERS = [YEAR, WEEK, WEEK.previous(), ArticleFilter(YEAR.start, YEAR.end, groups=("western", "russian")),
           ArticleFilter(YEAR.start, YEAR.end, languages=("zh",)),
           ArticleFilter(YEAR.start, YEAR.end, outlets=("Global Wire",), languages=("en",))]


def test_frame_counts_table_gives_the_numbers_of_the_join(conn):
    joined = [_frame_answers(conn, flt) for flt in FILTERS]   # tables empty: the join answers
    assert frame_counts.can_answer(conn, YEAR.start, YEAR.end) is False
    assert frame_counts.refresh_frame_counts(conn) > 0
    assert frame_counts.can_answer(conn, YEAR.start, YEAR.end) is True
    assert [_frame_answers(conn, flt) for flt in FILTERS] == joined
    # Counted by hand: law on 2026-11-24 in a1 (Global Wire) and a2 (华夏日报); a6, a copy, never.
    assert ("2026-11-24", "all", "law", 2) in joined[0]["carried None"]
    assert ("2026-11-26", "all", 2) in joined[0]["scored None"]   # a4, a5 (a6 is a copy)
    assert ("Global Wire", "law", 1) in joined[0]["outlets"]


def test_frame_counts_follow_a_rebuild_and_part_days_use_the_join(conn):
    frame_counts.refresh_frame_counts(conn)
    conn.execute(articles.update().where(articles.c.id == "a2").values(relevant=False))
    noon = ArticleFilter(start=datetime(2026, 11, 24, 13, tzinfo=timezone.utc), end=WEEK.end)
    assert frame_counts.can_answer(conn, noon.start, noon.end) is False
    # a1 and a2 (published at 12:00) fall before the window; a3 (25th) carries law.
    assert {r["day"] for r in views.daily_frame_counts(conn, noon) if r["frame"] == "law"} == {"2026-11-25",
                                                                                              "2026-11-26"}
    stale = views.daily_frame_counts(conn, WEEK)   # as of the last framing run: a2 still counted
    assert ("2026-11-24", "law", 2) in [(r["day"], r["frame"], r["articles"]) for r in stale]
    frame_counts.refresh_frame_counts(conn)
    fresh = views.daily_frame_counts(conn, WEEK)
    assert ("2026-11-24", "law", 1) in [(r["day"], r["frame"], r["articles"]) for r in fresh]


def test_framing_job_rebuilds_the_frame_counts(db_url):
    from monitor.analyze.jobs.framing import run
    from monitor.config import parse_settings

    build_dashboard_db(db_url)
    engine = open_engine(db_url)
    settings = parse_settings("topic: {name: t}\nframes: {period: month}\n")
    run(engine, settings, full=True)
    with engine.connect() as connection:
        joined = sa.select(sa.func.count()).select_from(
            frame_scores.join(articles, articles.c.id == frame_scores.c.article_id)).where(
            frame_scores.c.present.is_(True), articles.c.relevant.is_(True), articles.c.duplicate_of.is_(None))
        counted = sa.select(sa.func.coalesce(sa.func.sum(frame_day_counts.c.articles), 0))
        scored = sa.select(sa.func.sum(scored_day_counts.c.articles))
        assert connection.execute(counted).scalar_one() == connection.execute(joined).scalar_one()
        assert connection.execute(scored).scalar_one() == 9   # the fixture's relevant originals
    engine.dispose()
