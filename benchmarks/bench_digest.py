"""How long building the weekly digest takes at 10,000 and 100,000 articles.

Writes synthetic analysed rows (articles over one year in three languages, stories,
themes, two frame scores per article, shifts) straight into a SQLite (or --db) database,
then times build_digest for the last week, cold and warm, and reports the ratio.

    .venv/bin/python benchmarks/bench_digest.py [--sizes 10000 100000] [--db URL]
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from monitor.config import parse_settings
from monitor.present.digest import build_digest, render_html
from monitor.store import open_engine
from monitor.store.schema import articles, feeds, frame_scores, shifts, stories, themes

END = datetime(2026, 11, 23, tzinfo=timezone.utc)      # Monday: the last full week is 2026-W47
WEEK = "2026-W47"
GROUPS = ["western", "chinese-state", "russian", "think-tank"]
LANGS = {"western": "en", "chinese-state": "zh", "russian": "ru", "think-tank": "en"}
FRAMES = ["surveillance", "creditworthiness", "law", "integrity", "punishment", "technology",
          "governance", "rights", "myth_busting", "geopolitics", "history"]
WORDS = ["credit", "score", "blacklist", "court", "platform", "data", "city", "pilot", "law", "bank",
         "company", "rating", "trust", "privacy", "government", "reform", "system", "record"]


def populate(engine, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    outlets = [(f"outlet-{i}", GROUPS[i % 4]) for i in range(24)]
    with engine.begin() as conn:
        conn.execute(feeds.insert(), [{"name": o, "url": f"https://{o}.example/rss", "config_url":
                                       f"https://{o}.example/rss", "outlet": o, "group_name": g,
                                       "consecutive_failures": int(i == 3)}
                                      for i, (o, g) in enumerate(outlets)])
    n_stories = max(1, n // 6)   # 30% of articles join a long-running story
    story_rows: dict[str, dict] = {}
    batch, scores = [], []
    for i in range(n):
        # Volume grows toward the end of the year, as coverage of a live topic does.
        age = timedelta(seconds=int(365 * 86400 * rng.random() ** 1.3))
        when = END - age
        outlet, group = rng.choice(outlets)
        story = f"s{rng.randrange(n_stories)}" if rng.random() < 0.3 else f"s-{when:%Y%j}-{rng.randrange(20)}"
        row = {"id": f"a{i}", "url": f"https://{outlet}.example/{i}", "title": f"Story {story} item {i}",
               "published_at": when, "fetched_at": when, "language": LANGS[group], "outlet": outlet,
               "group_name": group, "relevant": rng.random() < 0.8, "story_id": story,
               "theme_id": f"t{rng.randrange(20)}", "tokens": rng.sample(WORDS, 8),
               "duplicate_of": None}
        batch.append(row)
        for frame in rng.sample(FRAMES, 2):
            scores.append({"article_id": row["id"], "frame": frame, "score": 0.5, "present": True,
                           "source": "codebook", "evidence": []})
        meta = story_rows.setdefault(story, {"id": story, "headline": row["title"], "headline_article_id":
                                             row["id"], "first_seen": when, "last_seen": when,
                                             "article_count": 0})
        meta["article_count"] += 1
        meta["first_seen"], meta["last_seen"] = min(meta["first_seen"], when), max(meta["last_seen"], when)
        if len(batch) >= 5000:
            _flush(engine, batch, scores)
            batch, scores = [], []
    _flush(engine, batch, scores)
    with engine.begin() as conn:
        conn.execute(stories.insert(), list(story_rows.values()))
        conn.execute(themes.insert(), [{"id": f"t{k}", "label": f"theme {k}", "terms": WORDS[k % 10:k % 10 + 4],
                                        "headlines": [], "size": n // 20} for k in range(20)])
        conn.execute(shifts.insert(), [{"frame": FRAMES[k % 11], "scope_kind": "all", "scope": "all",
                                        "period": "2026-11", "method": "baseline", "share": 0.3,
                                        "baseline_share": 0.2, "effect": 0.1, "n": 100,
                                        "evidence": [f"a{j}" for j in range(k, k + 5)]} for k in range(3)])


def _flush(engine, batch: list[dict], scores: list[dict]) -> None:
    if not batch:
        return
    with engine.begin() as conn:
        conn.execute(articles.insert(), batch)
        conn.execute(frame_scores.insert(), scores)


def measure(n: int, url: str | None) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        engine = open_engine(url or f"sqlite:///{Path(folder) / 'bench.db'}")
        started = time.perf_counter()
        populate(engine, n)
        filled = time.perf_counter() - started
        settings = parse_settings("topic: {name: Benchmark}\n", "bench.yaml")
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            digest = build_digest(engine, settings, WEEK, now=END)
            render_html(digest)
            timings.append(time.perf_counter() - started)
        engine.dispose()
    return {"n": n, "fill_s": filled, "cold_s": timings[0], "warm_s": min(timings[1:]),
            "week_articles": digest.articles, "stories": len(digest.stories), "shifts": len(digest.shifts)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file); must be empty")
    args = parser.parse_args()
    results = [measure(n, args.db) for n in args.sizes]
    for r in results:
        print(f"{r['n']:>7} articles: fill {r['fill_s']:.1f}s; digest build+render cold {r['cold_s']:.2f}s, "
              f"warm {r['warm_s']:.2f}s ({r['week_articles']} articles in the week, "
              f"{r['stories']} stories, {r['shifts']} shifts)")
    if len(results) >= 2:
        a, b = results[0], results[-1]
        print(f"ratio {b['n'] // a['n']}x articles -> {b['warm_s'] / a['warm_s']:.1f}x warm build time")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
