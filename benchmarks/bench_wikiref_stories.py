"""Stories on WikiRef220 (5 event clusters + 35 noise articles), through ingest and analyze.

    .venv/bin/python -W ignore benchmarks/bench_wikiref_stories.py

The 220 articles are written as one local RSS file (title; the body as description; one
publication date for all, since the set has none), ingested with `monitor.ingest.files`
and grouped by the relevance and stories jobs with a topic that keeps every article.
Score: B-cubed F1, each noise article its own gold cluster; a near-duplicate article counts
in its original's story. For the default run it also prints each gold label's share of the
precision and recall loss. Baseline in the same run: average-linkage agglomerative
clustering on TF-IDF of the same tokens, at its best distance threshold.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sklearn.cluster import AgglomerativeClustering  # noqa: E402

from benchmarks.feedfile import ingest_labelled_set  # noqa: E402
from monitor.analyze.jobs import stories  # noqa: E402
from monitor.analyze.text import make_vectorizer, tokenize  # noqa: E402
from monitor.config import parse_settings  # noqa: E402
from monitor.store.schema import articles  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "wikiref220_event_clusters"
WHEN = datetime(2016, 1, 15, 12, 0, tzinfo=timezone.utc)


def bcubed_f1(predicted: dict[str, str], gold: dict[str, str], noise_singletons: bool = True) -> float:
    """B-cubed F1; gold labels starting with "noise" count as one cluster per article
    (or, with noise_singletons=False, one cluster per noise sub-topic such as
    noise:tohoku.earthquake.tsunami: a diagnostic of how much of the loss is grouping
    those small sub-topics, which are events too)."""
    losses = np.array(list(bcubed_losses(predicted, gold, noise_singletons).values()))
    precision, recall = 1.0 - losses.sum(axis=0)
    return float(2 * precision * recall / (precision + recall))


def bcubed_losses(predicted: dict[str, str], gold: dict[str, str],
                  noise_singletons: bool = True) -> dict[str, tuple[float, float]]:
    """Where B-cubed loses: per gold label, its articles' share of 1 - precision (how much
    of their stories is other labels) and of 1 - recall (how much of their label is in
    other stories). Summed over labels they give 1 - P and 1 - R."""
    scored = {i: (i if noise_singletons and g.startswith("noise") else g) for i, g in gold.items()}
    by_pred: dict[str, set] = {}
    by_gold: dict[str, set] = {}
    for i in scored:
        by_pred.setdefault(predicted[i], set()).add(i)
        by_gold.setdefault(scored[i], set()).add(i)
    losses = {label: [0.0, 0.0] for label in gold.values()}
    for i in scored:
        shared = len(by_pred[predicted[i]] & by_gold[scored[i]])
        losses[gold[i]][0] += (1.0 - shared / len(by_pred[predicted[i]])) / len(scored)
        losses[gold[i]][1] += (1.0 - shared / len(by_gold[scored[i]])) / len(scored)
    return {label: (p, r) for label, (p, r) in losses.items()}


def load() -> list[dict]:
    with open(DATA / "labels.tsv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    items = []
    for row in rows:
        text = (DATA / row["path"]).read_bytes().decode("cp1252", errors="replace")
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        key = hashlib.sha1(row["path"].encode()).hexdigest()[:16]
        items.append({"url": f"https://wikiref.example/{key}", "title": lines[0],
                      "body": "\n\n".join(lines[1:]), "published": WHEN, "label": row["label"]})
    return items


def baseline(items: list[dict]) -> float:
    docs = [tokenize(f"{i['title']}\n{i['body']}", "en") for i in items]
    matrix = make_vectorizer().fit_transform(docs).toarray()
    gold = {str(n): i["label"] for n, i in enumerate(items)}
    best = 0.0
    for threshold in np.arange(0.50, 1.0, 0.02):
        labels = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                         distance_threshold=threshold).fit_predict(matrix)
        best = max(best, bcubed_f1({str(n): str(l) for n, l in enumerate(labels)}, gold))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", default="0.03,0.04,0.05,0.06,0.08,0.1,0.15",
                        help="story_threshold values to report (the first run uses feeds.yaml's default)")
    parser.add_argument("--orders", type=int, default=6,
                        help="also score this many random arrival orders (one second apart)")
    args = parser.parse_args()
    items = load()
    gold_by_url = {i["url"]: i["label"] for i in items}
    with tempfile.TemporaryDirectory() as folder:
        engine, settings, report = ingest_labelled_set(Path(folder), "WikiRef220", items, "wikiref")
        print(f"ingested {report.new_articles} articles ({report.duplicates} near-duplicates)")
        print(f"default settings (story_threshold {settings.analysis.story_threshold}):")
        for n, threshold in enumerate([settings.analysis.story_threshold] +
                                      [float(t) for t in args.thresholds.split(",")]):
            tuned = parse_settings(f"topic: {{name: WikiRef220}}\nanalysis: {{story_threshold: {threshold}}}\n")
            counts = stories.run(engine, tuned, full=True)
            predicted = _stories_by_url(engine)
            score = bcubed_f1({u: predicted[u] for u in gold_by_url}, gold_by_url)
            topics = bcubed_f1({u: predicted[u] for u in gold_by_url}, gold_by_url, noise_singletons=False)
            print(f"  story_threshold {threshold:<5} B-cubed F1 {score:.3f}  ({counts['stories']} stories; "
                  f"{topics:.3f} with noise sub-topics as clusters)")
            if n == 0:
                print_losses({u: predicted[u] for u in gold_by_url}, gold_by_url)
                print("sweep:")
    if args.orders:
        scores = [order_score(items, seed) for seed in range(args.orders)]
        print(f"default settings, {args.orders} random arrival orders: B-cubed F1 mean {np.mean(scores):.3f}, "
              f"min {min(scores):.3f}, max {max(scores):.3f}")
    print(f"baseline (average-linkage agglomerative, best threshold): B-cubed F1 {baseline(items):.3f}")


def print_losses(predicted: dict[str, str], gold: dict[str, str]) -> None:
    print("    where the loss is (share of 1 - precision / 1 - recall, by gold label):")
    for label, (precision, recall) in sorted(bcubed_losses(predicted, gold).items()):
        if precision + recall >= 0.0005:
            print(f"      {label:<34} {precision:.3f} / {recall:.3f}")


def order_score(items: list[dict], seed: int) -> float:
    """B-cubed F1 when the articles arrive one second apart in a random order (the set has
    no dates, so without this the file's order alone would be tested)."""
    order = np.random.default_rng(seed).permutation(len(items))
    shuffled = [{**items[j], "published": WHEN + timedelta(seconds=k)} for k, j in enumerate(order)]
    gold_by_url = {i["url"]: i["label"] for i in items}
    with tempfile.TemporaryDirectory() as folder:
        engine, settings, _ = ingest_labelled_set(Path(folder), "WikiRef220", shuffled, "wikiref")
        stories.run(engine, settings, full=True)
        predicted = _stories_by_url(engine)
        engine.dispose()
    return bcubed_f1({u: predicted[u] for u in gold_by_url}, gold_by_url)


def _stories_by_url(engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(articles.c.id, articles.c.url, articles.c.story_id,
                                      articles.c.duplicate_of)).all()
    story_of = {r.id: r.story_id for r in rows}
    return {r.url: story_of.get(r.duplicate_of) if r.duplicate_of else r.story_id for r in rows}


if __name__ == "__main__":
    main()
