"""Relevance quality of the default topic (feeds.yaml) per language.

    .venv/bin/python -W ignore benchmarks/bench_relevance.py

1. tests/data/relevance_dev.jsonl (the hand-written dev set): the rules alone, the classifier
   cross-validated (5 folds), and both combined.
2. monitor/demo/corpus/*.jsonl (a colleague's demo corpus, never used to write the rules or
   train): the rules alone, and combined with a classifier trained on the dev set only.
3. Tokenizer throughput on the demo corpus (titles + summaries).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from monitor.analyze import relevance as rel
from monitor.config import load_settings

ROOT = Path(__file__).resolve().parent.parent


def demo_examples() -> list[rel.Example]:
    out = []
    for path in sorted((ROOT / "monitor" / "demo" / "corpus").glob("items_*.jsonl")):
        language = path.stem.split("_")[1]
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                row.setdefault("language", language)
                out.append(rel.example_from_row(row))
    return out


def table(title: str, scores: dict[str, dict]) -> None:
    print(f"  {title}")
    for lang, m in scores.items():
        print(f"    {lang:4} n={m['n']:<4} P={m['precision']:.3f} R={m['recall']:.3f} "
              f"F1={m['f1']:.3f} fp={m['fp']} fn={m['fn']}")


def main() -> None:
    topic = load_settings(ROOT / "feeds.yaml").topic
    rules = rel.TopicRules(topic)   # first: it adds the topic's words to jieba's dictionary
    dev = rel.with_tokens(rel.load_labels(ROOT / "tests" / "data" / "relevance_dev.jsonl"))
    print(f"dev set: {len(dev)} labelled articles")
    dev_rules = rel.rule_verdicts(rules, dev)
    table("rules", rel.per_language_scores(dev, [v.relevant for v in dev_rules]))
    cv = rel.cross_validated_probabilities(dev)
    table("classifier (5-fold CV)", rel.per_language_scores(dev, [p >= 0.5 for p in cv]))
    table("combined (5-fold CV)", rel.per_language_scores(
        dev, [rel.combine(v, p, topic.threshold).relevant for v, p in zip(dev_rules, cv)]))

    demo = demo_examples()
    if not demo:
        return
    started = time.perf_counter()
    demo = rel.with_tokens(demo)
    seconds = time.perf_counter() - started
    print(f"demo corpus: {len(demo)} labelled articles")
    demo_rules = rel.rule_verdicts(rules, demo)
    table("rules", rel.per_language_scores(demo, [v.relevant for v in demo_rules]))
    model = rel.train(dev)
    probs = model.probabilities(demo)
    table("classifier trained on the dev set", rel.per_language_scores(demo, [p >= 0.5 for p in probs]))
    table("combined", rel.per_language_scores(
        demo, [rel.combine(v, p, topic.threshold).relevant for v, p in zip(demo_rules, probs)]))
    chars = sum(len(e.full_text) for e in demo)
    print(f"tokenizer: {len(demo) / seconds:.0f} articles/s, {chars / seconds / 1000:.0f} k chars/s "
          f"(title + summary; jieba loaded)")


if __name__ == "__main__":
    main()
