"""A small database with known contents for the dashboard tests.

Every number a page shows can be worked out by hand from ARTICLES below. The newest
article is on 2026-11-27, so the default window ends on that day and "this week" is
2026-11-21 .. 2026-11-27. One article's title carries a script payload: pages must show
it as text. Rows go in through SQLAlchemy Core on the real schema, as the analysis jobs
would leave them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from monitor.store import open_engine
from monitor.store.schema import (articles, feeds, frame_scores, models, shifts, stories, theme_events,
                                  themes)

XSS_TITLE = '<script>window.__xss=1</script>Blacklist <img src=x onerror="window.__xss=2"> report'

FEEDS = {  # name: (outlet, group, language)
    "wire": ("Global Wire", "western", "en"),
    "huaxia": ("华夏日报", "chinese-state", "zh"),
    "vesti": ("Вести", "russian", "ru"),
    "lab": ("Policy Lab", "think-tank", "en"),
}

# id, day, feed, title, relevant, story, theme, frames present, duplicate_of
ARTICLES = [
    ("a1", "2026-11-24", "wire", "Draft Social Credit Law published for comment", True, "s1", "t1", ["law"], None),
    ("a2", "2026-11-24", "huaxia", "社会信用法草案公开征求意见", True, "s1", "t1", ["law", "integrity"], None),
    ("a3", "2026-11-25", "vesti", "В Китае опубликован проект закона о социальном кредите", True, "s1", "t1",
     ["law", "surveillance"], None),
    ("a4", "2026-11-26", "lab", "What the draft law means for foreign firms", True, "s2", "t2", ["law"], None),
    ("a5", "2026-11-26", "wire", XSS_TITLE, True, "s2", "t2", ["surveillance"], None),
    ("a6", "2026-11-26", "wire", "Draft Social Credit Law published (copy)", True, "s1", "t1", ["law"], "a1"),
    ("a7", "2026-11-27", "wire", "Alberta credit union posts results", False, None, None, [], None),
    ("b1", "2026-11-16", "wire", "Blacklist travel ban figures released", True, "s3", "t1", ["surveillance"], None),
    ("b2", "2026-11-18", "huaxia", "失信被执行人名单更新", True, "s3", "t1", ["integrity"], None),
    ("c1", "2026-06-10", "lab", "Corporate credit ratings and EU firms", True, "s4", "t2", ["law"], None),
    ("c2", "2026-03-05", "vesti", "Социальный рейтинг: мифы и факты", True, "s5", None, ["surveillance"], None),
    ("d1", "2020-05-01", "wire", "Credit union annual meeting", False, None, None, [], None),
]
FRAMES = ["law", "integrity", "surveillance"]

STORIES = {  # id: (headline, first day, last day)
    "s1": ("Draft Social Credit Law published for comment", "2026-11-24", "2026-11-26"),
    "s2": ("What the draft law means for foreign firms", "2026-11-26", "2026-11-26"),
    "s3": ("Blacklist travel ban figures released", "2026-11-16", "2026-11-18"),
    "s4": ("Corporate credit ratings and EU firms", "2026-06-10", "2026-06-10"),
    "s5": ("Социальный рейтинг: мифы и факты", "2026-03-05", "2026-03-05"),
}


def _utc(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=timezone.utc)


def build_dashboard_db(url: str) -> None:
    """Create the schema at `url` and fill it with the rows above."""
    engine = open_engine(url)
    with engine.begin() as conn:
        feed_ids = {}
        for name, (outlet, group, language) in FEEDS.items():
            result = conn.execute(feeds.insert().values(
                name=name, url=f"https://{name}.example/rss", config_url=f"https://{name}.example/rss",
                outlet=outlet, group_name=group, language=language,
                last_attempt_at=_utc("2026-11-27"), last_success_at=_utc("2026-11-27"), last_status=200))
            feed_ids[name] = result.inserted_primary_key[0]
        conn.execute(feeds.insert().values(
            name="broken", url="https://broken.example/rss", config_url="https://broken.example/rss",
            outlet="Broken Times", group_name="western", language="en", consecutive_failures=3,
            last_status=500, last_error_class="server_error", last_error="HTTP 500 from broken.example",
            last_attempt_at=_utc("2026-11-27")))
        conn.execute(articles.insert(), [_article_row(row) for row in ARTICLES])
        conn.execute(frame_scores.insert(), [
            {"article_id": aid, "frame": frame, "score": 0.8 if frame in present else 0.0,
             "present": frame in present, "source": "codebook", "evidence": []}
            for aid, _, _, _, relevant, _, _, present, _ in ARTICLES if relevant for frame in FRAMES])
        conn.execute(stories.insert(), [
            {"id": sid, "headline": headline, "first_seen": _utc(first), "last_seen": _utc(last),
             "article_count": sum(1 for a in ARTICLES if a[5] == sid),
             "outlets": sorted({FEEDS[a[2]][0] for a in ARTICLES if a[5] == sid}),
             "languages": sorted({FEEDS[a[2]][2] for a in ARTICLES if a[5] == sid})}
            for sid, (headline, first, last) in STORIES.items()])
        conn.execute(themes.insert(), [
            {"id": "t1", "label": "blacklists · law · 失信", "terms": ["blacklist", "law", "失信"],
             "headlines": ["Blacklist travel ban figures released", "失信被执行人名单更新",
                           "Draft Social Credit Law published for comment"],
             "size": 6, "status": "active", "born_at": _utc("2026-01-01")},
            {"id": "t2", "label": "foreign firms · corporate credit", "terms": ["firms", "corporate"],
             "headlines": ["Corporate credit ratings and EU firms"], "size": 3, "status": "active",
             "born_at": _utc("2026-06-01")},
        ])
        conn.execute(theme_events.insert(), [
            {"at": _utc("2026-01-01"), "kind": "birth", "theme_id": "t1", "related": []},
            {"at": _utc("2026-06-01"), "kind": "birth", "theme_id": "t2", "related": []},
            {"at": _utc("2026-09-01"), "kind": "merge", "theme_id": "t1", "related": ["t0"]},
        ])
        conn.execute(shifts.insert(), [
            {"frame": "law", "scope_kind": "all", "scope": "all", "period": "2026-11", "method": "baseline",
             "share": 0.8, "baseline_share": 0.3, "effect": 0.5, "ci_low": 0.4, "ci_high": 0.95,
             "p_value": 0.01, "n": 5, "evidence": ["a1", "a2", "a3"], "detected_at": _utc("2026-11-27")},
            {"frame": "integrity", "scope_kind": "group", "scope": "chinese-state", "period": "2026-Q2",
             "method": "changepoint", "share": 0.1, "baseline_share": 0.4, "effect": -0.3, "ci_low": 0.0,
             "ci_high": 0.3, "p_value": 0.04, "n": 4, "evidence": ["b2"], "detected_at": _utc("2026-07-01")},
        ])
        conn.execute(models.insert().values(name="relevance", blob=b"x",
                                            metrics={"f1": 0.91, "precision": 0.93, "recall": 0.89},
                                            trained_at=_utc("2026-11-20")))
    engine.dispose()


def _article_row(row: tuple) -> dict:
    aid, day, feed, title, relevant, story, theme, _, duplicate_of = row
    outlet, group, language = FEEDS[feed]
    return {"id": aid, "url": f"https://{feed}.example/{aid}" if aid != "a5" else "javascript:alert(1)",
            "original_url": "", "title": title, "summary": f"Summary of {title}",
            "published_at": _utc(day), "fetched_at": _utc(day, 13), "language": language,
            "outlet": outlet, "group_name": group, "feed": feed, "relevant": relevant,
            "relevance_score": 0.9 if relevant else 0.1,
            "relevance_reason": "matched: social credit" if relevant else "no include term",
            "story_id": story, "theme_id": theme, "duplicate_of": duplicate_of,
            "tokens": (title.lower().split()) * 2}   # as if the summary repeated the title




# --- the demo database for the browser test ---

# A feed whose items carry script payloads in the title and summary (escaped once, as a
# hostile feed would send them): the dashboard must show them as text, never run them.
# Dated away from the demo's busy last weeks, so they stay out of the README screenshots.
HOSTILE_FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Hostile Wire</title><link>https://hostile.example/</link>
<item><title>&lt;script&gt;window.__xss=1&lt;/script&gt;Social credit system blacklist grows &lt;img src=x onerror="window.__xss=2"&gt;</title>
<link>https://hostile.example/2026/11/blacklist</link><guid>hostile-1</guid>
<pubDate>Mon, 15 Dec 2025 09:00:00 GMT</pubDate>
<description>&lt;img src=x onerror="window.__xss=3"&gt;&lt;script&gt;window.__xss=4&lt;/script&gt;China's social credit system adds firms to its blacklist.</description></item>
<item><title>&amp;lt;script&amp;gt;window.__xss=5&amp;lt;/script&amp;gt;Social credit system rules &amp;lt;svg onload="window.__xss=6"&amp;gt;</title>
<link>javascript:window.__xss=7</link><guid>hostile-2</guid>
<pubDate>Mon, 15 Dec 2025 10:00:00 GMT</pubDate>
<description>&amp;lt;script&amp;gt;window.__xss=8&amp;lt;/script&amp;gt;The social credit system rules are revised.</description></item>
</channel></rss>"""
HOSTILE_TITLE = "<script>window.__xss=5</script>Social credit system rules"


def add_hostile_feed(config_path: Path, db_url: str) -> None:
    """Ingest a feed whose titles and summaries carry script payloads into a demo database,
    and analyse it, as a hostile publisher would make the dashboard show it."""
    from monitor.analyze.runner import run_analysis
    from monitor.config import load_settings
    from monitor.ingest.pipeline import store_document
    from monitor.models import FeedRef
    from monitor.store.feeds import ensure_feed

    settings = load_settings(config_path)
    engine = open_engine(db_url)
    ref = FeedRef(name="hostile-wire", url="https://hostile.example/rss", outlet="Hostile Wire",
                  group="western", language="en")
    with engine.begin() as conn:
        feed_id = ensure_feed(conn, ref)
    store_document(engine, feed_id, ref, HOSTILE_FEED, {"content-type": "application/rss+xml"},
                   fetched_at=datetime(2025, 12, 15, 12, tzinfo=timezone.utc), base_url=ref.url)
    run_analysis(engine, settings)
    engine.dispose()
