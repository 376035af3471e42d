"""The weekly digest's content, checked against the demo corpus's planted truth: headline
numbers, top stories with links, themes, framing shifts with chart and evidence, source
groups, feed health, a quiet week, hostile titles, and the files written."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from email import message_from_bytes
from email.policy import default

import pytest
import sqlalchemy as sa

from monitor.errors import InputError
from monitor.present import weeks
from monitor.present.digest import build_digest, render_html, render_text, safe_url, write_digest
from monitor.store import open_engine
from monitor.store.schema import articles, frame_scores
from test_digest_support import (BROKEN_FEED, SHIFT_FRAME, WEEK, WEEK_END, WEEK_START, demo_database,
                                 settings)

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    engine = demo_database(f"sqlite:///{tmp_path_factory.mktemp('digest') / 'monitor.db'}")
    return engine, build_digest(engine, settings(), now=NOW)


def _coverage(conn, start, end) -> list:
    return list(conn.execute(sa.select(articles).where(
        articles.c.relevant.is_(True), articles.c.duplicate_of.is_(None),
        articles.c.published_at >= start, articles.c.published_at < end)))


def test_default_week_is_the_last_full_iso_week(demo):
    _, digest = demo
    assert digest.week == WEEK == "2026-W47"
    assert digest.start.isoformat() == "2026-11-16T00:00:00+00:00"
    assert digest.period_text == "16 Nov – 22 Nov 2026"


def test_headline_numbers_against_previous_week_and_four_week_average(demo):
    engine, digest = demo
    with engine.connect() as conn:
        this_week = _coverage(conn, WEEK_START, WEEK_END)
        before = [_coverage(conn, *weeks.week_bounds(weeks.shift_week(WEEK, -k), "UTC")) for k in range(1, 5)]
    numbers = {n.name: n for n in digest.numbers}
    assert numbers["relevant articles"].value == len(this_week) >= 30
    assert numbers["relevant articles"].previous == len(before[0])
    assert numbers["relevant articles"].average == pytest.approx(sum(map(len, before)) / 4)
    assert numbers["outlets"].value == len({a.outlet for a in this_week})
    assert numbers["languages"].value == 3
    assert numbers["stories covered"].value == len({a.story_id for a in this_week if a.story_id})
    assert not digest.quiet


def test_top_stories_are_ranked_by_outlets_then_languages_with_links(demo):
    engine, digest = demo
    with engine.connect() as conn:
        this_week = _coverage(conn, WEEK_START, WEEK_END)
    outlets = Counter()
    for story in {a.story_id for a in this_week if a.story_id}:
        outlets[story] = len({a.outlet for a in this_week if a.story_id == story})
    assert [s.outlets for s in digest.stories] == sorted((s.outlets for s in digest.stories), reverse=True)
    assert digest.stories[0].outlets == max(outlets.values()) >= 3
    widest = digest.stories[0]
    assert widest.url.startswith("https://") and ".example/2026/11/" in widest.url
    assert set(widest.languages) <= {"en", "ru", "zh"}
    assert len(digest.stories) == min(8, len(outlets))


def test_new_and_growing_themes(demo):
    _, digest = demo
    assert [t.label for t in digest.new_themes] == [f"theme {SHIFT_FRAME}"]
    assert digest.new_themes[0].articles > 0
    for theme in digest.growing_themes:
        assert theme.articles >= 3 and theme.articles >= 1.5 * max(theme.average, 1.0)
    assert f"theme {SHIFT_FRAME}" not in [t.label for t in digest.growing_themes]


def test_framing_shift_with_chart_and_evidence_articles(demo):
    _, digest = demo
    assert len(digest.shifts) == 1
    shift = digest.shifts[0]
    assert shift.frame == "Law, regulation and enforcement"
    assert (shift.share, shift.baseline_share, shift.effect, shift.n) == (0.42, 0.18, 0.24, 38)
    assert len(shift.evidence) == 3
    assert all(link.url.startswith("https://") and link.date.startswith("2026-11") for link in shift.evidence)
    assert digest.chart_png[:8] == b"\x89PNG\r\n\x1a\n"
    html = render_html(digest)
    assert 'src="data:image/png;base64,' in html
    assert "42%" in html and "+24 pts" in html


def test_source_groups_frame_mix_matches_the_frame_scores(demo):
    engine, digest = demo
    mixes = {g.group: g for g in digest.groups}
    assert set(mixes) == {"western", "chinese-state", "russian", "think-tank"}
    with engine.connect() as conn:
        rows = conn.execute(sa.select(articles.c.group_name, frame_scores.c.frame).select_from(
            articles.join(frame_scores, frame_scores.c.article_id == articles.c.id)).where(
            articles.c.relevant.is_(True), articles.c.duplicate_of.is_(None),
            articles.c.published_at >= WEEK_START, articles.c.published_at < WEEK_END)).all()
    state = mixes["chinese-state"]
    carried = Counter(frame for group, frame in rows if group == "chinese-state")
    scored = state.articles
    top_share = state.frames[0][1]
    assert top_share == pytest.approx(max(carried.values()) / scored)
    assert any(g.distinct for g in digest.groups)


def test_feed_health_problems_are_listed(demo):
    _, digest = demo
    assert [(p.name, p.problem) for p in digest.feed_problems] == \
        [(BROKEN_FEED, "4 failures in a row (http_5xx)")]


def test_text_and_html_carry_every_section_and_the_dashboard_link(demo):
    _, digest = demo
    text, html = render_text(digest), render_html(digest)
    for heading in ("THIS WEEK IN NUMBERS", "TOP STORIES", "THEMES", "FRAMING SHIFTS",
                    "HOW SOURCE GROUPS DIFFERED", "FEED HEALTH"):
        assert heading in text
    assert "Dashboard: https://dashboard.monitor.example/" in text
    assert 'href="https://dashboard.monitor.example/"' in html
    assert digest.stories[0].headline in text


def test_write_digest_writes_html_text_and_a_parseable_eml(demo, tmp_path):
    _, digest = demo
    paths = write_digest(digest, tmp_path / "out")
    assert [p.name for p in paths] == [f"digest-{WEEK}.html", f"digest-{WEEK}.txt", f"digest-{WEEK}.eml"]
    message = message_from_bytes(paths[2].read_bytes(), policy=default)
    assert message["Subject"] == digest.subject
    assert message["To"] == "alice@example.org, bob@example.org"
    assert paths[1].read_text(encoding="utf-8") == render_text(digest)


def test_a_quiet_week_is_short_and_honest(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'quiet.db'}")
    with engine.begin() as conn:
        conn.execute(articles.insert().values(
            id="a1", url="javascript:alert(1)", title="<img src=x onerror=alert(1)> 社会信用",
            published_at=datetime(2026, 11, 18, tzinfo=timezone.utc), fetched_at=NOW, language="zh",
            outlet="Lone outlet", relevant=True, story_id=None))
    digest = build_digest(engine, settings(), WEEK, now=NOW)
    assert digest.quiet and digest.articles == 1
    text, html = render_text(digest), render_html(digest)
    assert "A quiet week: 1 relevant article (previous week 0" in text
    assert "TOP STORIES" not in text and "Top stories" not in html
    assert "<img src=x" not in html and "javascript:" not in html
    assert "quiet week" in digest.subject


def test_hostile_links_are_dropped():
    assert safe_url("https://a.example/x?y=1") == "https://a.example/x?y=1"
    for bad in ("javascript:alert(1)", "data:text/html,x", "/relative", "https://a.example/\r\nX: y", None):
        assert safe_url(bad) is None


def test_weeks_in_a_time_zone_and_when_the_digest_is_due():
    start, end = weeks.week_bounds("2026-W01", "Asia/Shanghai")
    assert start.isoformat() == "2025-12-28T16:00:00+00:00" and (end - start).days == 7
    # Monday 07:00 in Shanghai is Sunday 23:00 UTC: the digest of the week just ended is due.
    assert weeks.due_week(datetime(2026, 11, 22, 23, 30, tzinfo=timezone.utc), "Asia/Shanghai",
                          "monday", 7) == "2026-W47"
    assert weeks.due_week(datetime(2026, 11, 22, 22, 30, tzinfo=timezone.utc), "Asia/Shanghai",
                          "monday", 7) is None
    assert weeks.last_full_week(datetime(2027, 1, 4, tzinfo=timezone.utc), "UTC") == "2026-W53"
    assert weeks.period_labels("2026-W40") == ["2026-W40", "2026-09", "2026-Q3", "2026-10", "2026-Q4"]
    with pytest.raises(InputError, match="expected an ISO week"):
        weeks.week_monday("2026-47")
    with pytest.raises(InputError, match="has no week 54"):
        weeks.week_monday("2026-W54")


def test_the_digest_builds_the_same_on_sqlite_and_postgresql(db_url, demo):
    _, on_sqlite = demo
    engine = demo_database(db_url)
    digest = build_digest(engine, settings(), WEEK, now=NOW)
    assert digest.numbers == on_sqlite.numbers
    assert [(s.headline, s.outlets, s.url) for s in digest.stories] == \
        [(s.headline, s.outlets, s.url) for s in on_sqlite.stories]
    assert digest.groups == on_sqlite.groups and digest.shifts == on_sqlite.shifts
    engine.dispose()
