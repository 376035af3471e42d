"""Helpers for the digest, mailer and alert tests (no tests here).

`demo_database` ingests the bundled demo feeds through the real ingest pipeline
(store_document), then writes the analysis results the corpus plants (relevance, story =
planted event, theme = dominant frame, frame scores, one shift), so every number the
digest shows can be checked against the corpus itself.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.config import Settings, parse_settings
from monitor.demo.loader import DemoItem, load_items, load_outlets
from monitor.demo.setup import feed_documents
from monitor.ingest.pipeline import store_document
from monitor.models import FeedRef
from monitor.store import open_engine
from monitor.store.feeds import ensure_feed
from monitor.store.schema import articles, feeds, frame_scores, shifts, stories, theme_events, themes

WEEK = "2026-W47"                 # the demo corpus's busy week (40 items)
WEEK_START = datetime(2026, 11, 16, tzinfo=timezone.utc)
WEEK_END = WEEK_START + timedelta(days=7)
FETCHED_AT = datetime(2026, 11, 27, 6, 0, tzinfo=timezone.utc)
HOSTILE_TITLE = "Social credit\r\nBcc: evil@x 社会信用 Социальный кредит"
SHIFT_FRAME = "law"
BROKEN_FEED = "eurasia-herald"

SETTINGS_YAML = """
topic:
  name: "China's Social Credit System · 社会信用 · Социальный кредит"
  languages: [en, ru, zh]
frames:
  codebook: social-credit
digest:
  recipients: [alice@example.org, bob@example.org]
  sender: digest@monitor.example
  timezone: UTC
  dashboard_url: https://dashboard.monitor.example/
  list_unsubscribe: https://monitor.example/unsubscribe?u=1
  smtp_security: none
  spike_factor: 3.0
  spike_min_articles: 10
"""


def settings(extra: dict | None = None) -> Settings:
    base = parse_settings(SETTINGS_YAML, "test.yaml")
    if not extra:
        return base
    return base.model_copy(update={"digest": base.digest.model_copy(update=extra)})


def week_items() -> list[DemoItem]:
    return [i for i in load_items() if WEEK_START <= i.published < WEEK_END]


def relevant_originals(items: list[DemoItem]) -> list[DemoItem]:
    """What the digest counts: planted-relevant items that are not wire copies."""
    return [i for i in items if i.relevant and not i.syndicated_of]


def demo_database(url: str) -> Engine:
    """A database holding the demo corpus with its planted analysis results."""
    engine = open_engine(url)
    _ingest(engine)
    _plant_analysis(engine)
    return engine


def _ingest(engine: Engine) -> None:
    documents = feed_documents()
    for outlet in load_outlets():
        body = documents.get(f"/feeds/{outlet.slug}.xml")
        if body is None:
            continue
        ref = FeedRef(name=outlet.slug, url=f"https://{outlet.slug}.example/feed.xml",
                      outlet=outlet.outlet, group=outlet.group, language=outlet.language)
        with engine.begin() as conn:
            feed_id = ensure_feed(conn, ref)
        store_document(engine, feed_id, ref, body, {"content-type": "application/xml"},
                       fetched_at=FETCHED_AT, base_url=ref.url)
    with engine.begin() as conn:
        conn.execute(feeds.update().values(last_attempt_at=FETCHED_AT, last_success_at=FETCHED_AT))
        conn.execute(feeds.update().where(feeds.c.name == BROKEN_FEED).values(
            consecutive_failures=4, last_error_class="http_5xx", last_error="503 Service Unavailable"))


def _plant_analysis(engine: Engine) -> None:
    by_link = {item.link: item for item in load_items()}
    with engine.begin() as conn:
        rows = conn.execute(sa.select(articles.c.id, articles.c.original_url, articles.c.url,
                                      articles.c.published_at, articles.c.title)).all()
        story_rows: dict[str, dict] = {}
        theme_sizes: Counter = Counter()
        for row in rows:
            item = by_link.get(row.original_url) or by_link.get(row.url)
            if item is None:
                continue
            story_id = _story_of(item)
            theme_id = f"t-{item.frames[0]}" if item.relevant and item.frames else None
            conn.execute(articles.update().where(articles.c.id == row.id).values(
                relevant=item.relevant, story_id=story_id, theme_id=theme_id,
                tokens=item.title.lower().split() if item.relevant else None,
                analyzed_at=FETCHED_AT))
            if item.relevant:
                conn.execute(frame_scores.insert(), [
                    {"article_id": row.id, "frame": frame, "score": 0.8, "present": True,
                     "source": "codebook", "evidence": []} for frame in item.frames])
            if story_id:
                story = story_rows.setdefault(story_id, {
                    "id": story_id, "headline": row.title, "headline_article_id": row.id,
                    "first_seen": row.published_at, "last_seen": row.published_at, "article_count": 0})
                story["article_count"] += 1
                if row.published_at < story["first_seen"]:
                    story.update(first_seen=row.published_at, headline=row.title,
                                 headline_article_id=row.id)
                story["last_seen"] = max(story["last_seen"], row.published_at)
            if theme_id:
                theme_sizes[theme_id] += 1
        conn.execute(stories.insert(), list(story_rows.values()))
        conn.execute(themes.insert(), [
            {"id": tid, "label": f"theme {tid[2:]}", "terms": [tid[2:], "credit"], "headlines": [],
             "size": n, "born_at": datetime(2020, 1, 1, tzinfo=timezone.utc)}
            for tid, n in theme_sizes.items()])
        # One theme "born" inside the week, as a refit would record it.
        conn.execute(theme_events.insert().values(at=WEEK_START + timedelta(days=2), kind="birth",
                                                  theme_id=f"t-{SHIFT_FRAME}", related=[]))
        evidence = [i.id for i in _shift_evidence(conn)]
        conn.execute(shifts.insert().values(
            frame=SHIFT_FRAME, scope_kind="all", scope="all", period="2026-11", method="baseline",
            share=0.42, baseline_share=0.18, effect=0.24, ci_low=0.11, ci_high=0.37, p_value=0.001,
            n=38, evidence=evidence, detected_at=FETCHED_AT))


def _story_of(item: DemoItem) -> str | None:
    """The planted event, or (for items without one) the dominant frame within the ISO week."""
    if not item.relevant:
        return None
    if item.event:
        return f"s-{item.event}"
    return f"s-{item.frames[0]}-{item.published:%G%V}" if item.frames else None


def _shift_evidence(conn) -> list:
    query = (sa.select(articles.c.id).select_from(
        articles.join(frame_scores, frame_scores.c.article_id == articles.c.id))
        .where(frame_scores.c.frame == SHIFT_FRAME, articles.c.published_at >= WEEK_START,
               articles.c.published_at < WEEK_END).order_by(articles.c.id).limit(3))
    return list(conn.execute(query))


def add_hostile_story(engine: Engine, when: datetime, count: int = 1) -> str:
    """A story whose headline carries a header-injection attempt, with `count` articles."""
    with engine.begin() as conn:
        for n in range(count):
            conn.execute(articles.insert().values(
                id=f"hostile-{when:%Y%m%d}-{n}", url=f"https://evil.example/{when:%Y%m%d}/{n}",
                title=HOSTILE_TITLE, published_at=when + timedelta(minutes=n), fetched_at=when,
                language="en", outlet=f"Evil {n % 7}", group_name="western", relevant=True,
                story_id="s-hostile"))
        conn.execute(stories.insert().values(
            id="s-hostile", headline=HOSTILE_TITLE, headline_article_id=f"hostile-{when:%Y%m%d}-0",
            first_seen=when, last_seen=when, article_count=count))
    return "s-hostile"
