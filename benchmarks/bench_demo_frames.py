"""Codebook scoring against the frames planted in the demo corpus.

    .venv/bin/python benchmarks/bench_demo_frames.py [--min-score 0.2] [--errors FRAME]

Every relevant demo item (monitor/demo/corpus) lists the frames its author planted. The
codebook scores title and summary exactly as the framing job does (`present` as the job
decides it) and this script prints per-frame precision, recall and F1 per language and over
all languages, with micro and macro F1. `--errors FRAME` lists the false positives and
false negatives of one frame with the terms that fired, for reading, not for copying.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.analyze.codebook import load_builtin  # noqa: E402
from monitor.analyze.framing import compile_codebook, score_article  # noqa: E402
from monitor.config import Frames  # noqa: E402
from monitor.demo.loader import load_items, load_outlets  # noqa: E402

LANGUAGES = ("en", "ru", "zh")


def demo_predictions(min_score: float) -> list[tuple[str, str, set[str], dict]]:
    """(language, item id, planted frames, {frame: FrameScore}) for every relevant item."""
    language = {o.slug: o.language for o in load_outlets()}
    compiled = compile_codebook(load_builtin("social-credit"))
    rows = []
    for item in load_items():
        if not item.relevant:
            continue
        lang = language[item.outlet]
        scores = score_article(item.title, item.summary, lang, compiled,
                               article_id=item.id, min_score=min_score)
        rows.append((lang, item.id, set(item.frames), {s.frame: s for s in scores}))
    return rows


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def counts(rows, frames) -> dict[str, list[int]]:
    """frame -> [tp, fp, fn]."""
    table = {f: [0, 0, 0] for f in frames}
    for _, _, gold, scores in rows:
        for frame in frames:
            predicted = scores[frame].present
            table[frame][0] += predicted and frame in gold
            table[frame][1] += predicted and frame not in gold
            table[frame][2] += (not predicted) and frame in gold
    return table


def summary(table: dict[str, list[int]]) -> tuple[float, float]:
    """(micro F1, macro F1 over frames that are planted at least once)."""
    tp, fp, fn = (sum(v[i] for v in table.values()) for i in range(3))
    planted = [f for f, v in table.items() if v[0] + v[2] > 0]
    macro = sum(prf(*table[f])[2] for f in planted) / len(planted) if planted else 0.0
    return prf(tp, fp, fn)[2], macro


def print_table(title: str, table: dict[str, list[int]]) -> None:
    print(f"\n{title}")
    print(f"  {'frame':18s} {'planted':>7s} {'P':>6s} {'R':>6s} {'F1':>6s}")
    for frame, (tp, fp, fn) in table.items():
        p, r, f = prf(tp, fp, fn)
        print(f"  {frame:18s} {tp + fn:7d} {p:6.2f} {r:6.2f} {f:6.2f}")
    micro, macro = summary(table)
    print(f"  micro-F1 {micro:.3f}  macro-F1 {macro:.3f}")


def print_errors(rows, frame: str) -> None:
    items = {i.id: i for i in load_items()}
    for lang, item_id, gold, scores in rows:
        s = scores[frame]
        if s.present != (frame in gold):
            kind = "FP" if s.present else "FN"
            print(f"{kind} {lang} {item_id} {s.score:.2f} {list(s.evidence)} gold={sorted(gold)}\n"
                  f"   {items[item_id].title}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-score", type=float, default=Frames().min_score,
                        help="score at or above which a frame is present (default: settings)")
    parser.add_argument("--errors", metavar="FRAME", help="list one frame's errors")
    args = parser.parse_args()
    frames = load_builtin("social-credit").ids
    rows = demo_predictions(args.min_score)
    if args.errors:
        print_errors(rows, args.errors)
        return
    by_language = defaultdict(list)
    for row in rows:
        by_language[row[0]].append(row)
    print(f"{len(rows)} relevant demo items; present = score >= {args.min_score}")
    results = {}
    for lang in LANGUAGES:
        table = counts(by_language[lang], frames)
        print_table(f"{lang} ({len(by_language[lang])} items)", table)
        results[lang] = summary(table)
    overall = counts(rows, frames)
    print_table("all languages", overall)
    results["all"] = summary(overall)
    print("\nsummary: " + "; ".join(f"{k} micro {m:.3f} macro {a:.3f}" for k, (m, a) in results.items()))


if __name__ == "__main__":
    main()
