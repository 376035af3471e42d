"""Themes on BBC News (2,225 articles, 5 classes), through ingest and analyze, k automatic.

    .venv/bin/python -W ignore benchmarks/bench_bbc_themes.py
    .venv/bin/python -W ignore benchmarks/bench_bbc_themes.py --demo DIR   # after `monitor demo --dir DIR`

Byte-identical files are dropped first (98 groups; 2,127 articles remain). The articles
are written as one local RSS file (dates spread over 2004-2005), ingested with
`monitor.ingest.files`, then the relevance job (a topic that keeps every article) and the
themes job run as `monitor analyze --full` would. Score: NMI between theme and class; a
near-duplicate article counts in its original's theme. Baseline in the same run: NMF with
k=5 given, each article to its strongest component, on the same TF-IDF.

With --demo, the themes of a finished demo (English, Russian and Chinese outlets) instead:
each theme's label, headlines and languages, and the theme x source-group table of shares.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from collections import Counter
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sklearn.decomposition import NMF  # noqa: E402
from sklearn.metrics import normalized_mutual_info_score  # noqa: E402

from benchmarks.feedfile import ingest_labelled_set  # noqa: E402
from monitor.analyze.jobs import themes  # noqa: E402
from monitor.analyze.text import make_vectorizer, tokenize  # noqa: E402
from monitor.store import grouping, open_engine  # noqa: E402
from monitor.store.schema import articles  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "bbc_news_5class"
START = datetime(2004, 1, 1, 9, 0, tzinfo=timezone.utc)


def load() -> list[dict]:
    with open(DATA / "labels.tsv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    seen: set[str] = set()
    items = []
    for row in rows:
        raw = (DATA / row["path"]).read_bytes()
        digest = hashlib.md5(raw).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        lines = [line.strip() for line in raw.decode("utf-8", errors="replace").splitlines() if line.strip()]
        items.append({"url": f"https://bbc.example/{digest}", "title": lines[0],
                      "body": "\n\n".join(lines[1:]), "label": row["label"],
                      "published": START + timedelta(hours=8 * len(items))})
    return items


def baseline(items: list[dict]) -> float:
    docs = [tokenize(f"{i['title']}\n{i['body']}", "en") for i in items]
    matrix = make_vectorizer(min_df=3, max_df=0.5).fit_transform(docs)
    labels = NMF(5, init="nndsvda", random_state=0, max_iter=400).fit_transform(matrix).argmax(axis=1)
    return normalized_mutual_info_score([i["label"] for i in items], labels)


def main() -> None:
    items = load()
    gold_by_url = {i["url"]: i["label"] for i in items}
    with tempfile.TemporaryDirectory() as folder:
        engine, settings, report = ingest_labelled_set(Path(folder), "BBC News", items, "bbc")
        started = time.perf_counter()
        counts = themes.run(engine, settings, full=True)
        seconds = time.perf_counter() - started
        with engine.connect() as conn:
            rows = conn.execute(sa.select(articles.c.id, articles.c.url, articles.c.theme_id,
                                          articles.c.duplicate_of)).all()
            state = grouping.get_state(conn, themes.STATE_KEY)
            labels = {t["id"]: t["label"] for t in grouping.load_themes(conn)}
    theme_of = {r.id: r.theme_id for r in rows}
    predicted = {r.url: theme_of.get(r.duplicate_of) if r.duplicate_of else r.theme_id for r in rows}
    urls = list(gold_by_url)
    score = normalized_mutual_info_score([gold_by_url[u] for u in urls], [str(predicted.get(u)) for u in urls])
    print(f"ingested {report.new_articles} articles ({report.duplicates} near-duplicates); "
          f"themes job {seconds:.1f}s")
    print(f"k chosen: {counts['k']}  NMI {score:.3f}")
    for k, s in sorted(state["selection"].items(), key=lambda kv: int(kv[0])):
        print(f"  k={k:>2} stability {s['stability']:.3f} coherence {s['coherence']:.3f}")
    for label in labels.values():
        print(f"  theme: {label}")
    print(f"baseline (NMF, k=5 given, strongest component): NMI {baseline(items):.3f}")


def demo(folder: Path) -> None:
    """Print the demo's themes: label, size, languages, headlines; then shares per group."""
    engine = open_engine(f"sqlite:///{folder / 'monitor.db'}")
    with engine.connect() as conn:
        rows = conn.execute(sa.select(articles.c.language, articles.c.group_name, articles.c.theme_id)
                            .where(articles.c.theme_id.is_not(None))).all()
        found = grouping.load_themes(conn)
        state = grouping.get_state(conn, themes.STATE_KEY) or {}
    mode = "words" if state.get("word_weight") is None else f"concepts + words x{state['word_weight']}"
    print(f"{len(found)} themes over {len(rows)} articles (features: {mode})")
    by_theme = {t["id"]: [r for r in rows if r.theme_id == t["id"]] for t in found}
    for t in found:
        languages = Counter(r.language for r in by_theme[t["id"]])
        spans = sum(count >= 0.1 * t["size"] for count in languages.values())
        print(f"\n{t['label']}  ({t['size']} articles; {dict(languages.most_common())}; "
              f"{spans} languages with >= 10%)")
        for headline in t["headlines"]:
            print(f"    - {headline}")
    groups = sorted({r.group_name for r in rows})
    totals = Counter(r.group_name for r in rows)
    print("\nshare of each group's articles per theme")
    print(f"{'':40}" + "".join(f"{g[:13]:>14}" for g in groups))
    for t in found:
        counts = Counter(r.group_name for r in by_theme[t["id"]])
        print(f"{t['label'][:39]:40}" + "".join(f"{counts[g] / totals[g]:14.2f}" for g in groups))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, help="folder of a finished `monitor demo` run")
    args = parser.parse_args()
    demo(args.demo) if args.demo else main()
