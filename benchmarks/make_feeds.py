"""Write synthetic RSS 2.0 feed files for the ingest benchmark and the large-feed test.

Deterministic (seeded). Items mix English, Russian and Chinese text; about 5% are wire
copies of an earlier item with a few words changed, so near-dedup has real work to do.

    python benchmarks/make_feeds.py OUT_DIR --files 100 --items 100
"""

from __future__ import annotations

import argparse
import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

EN = ("government credit system rating companies firms regulators blacklist court data platform "
      "province city pilot score citizens trust report policy market bank loan tax record public "
      "official said week plan national agency law rule new").split()
RU = ("власти система рейтинг компании граждане данные суд платформа провинция город оценка "
      "доверие отчёт политика рынок банк кредит налог закон правило новый заявил неделя").split()
ZH = list("社会信用体系建设政府部门企业平台数据法院黑名单城市试点评分公民信任报告政策市场银行贷款税收记录")


def _text(rng: random.Random, language: str, words: int) -> str:
    if language == "zh":
        return "".join(rng.choice(ZH) for _ in range(words * 2)) + "。"
    vocabulary = EN if language == "en" else RU
    return " ".join(rng.choice(vocabulary) for _ in range(words)).capitalize() + "."


def feed_xml(rng: random.Random, index: int, items: int, words: int = 60) -> str:
    start = datetime(2019, 1, 1, tzinfo=timezone.utc) + timedelta(days=index)
    earlier: list[tuple[str, str]] = []
    parts = [f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
             f"<title>Synthetic feed {index}</title><link>https://site{index % 50}.example/</link>"]
    for n in range(items):
        language = rng.choice(("en", "en", "ru", "zh"))
        if earlier and rng.random() < 0.05:
            title, body = rng.choice(earlier)
            body = body.replace(" ", " also ", 1) if " " in body else body + "。"
        else:
            title, body = _text(rng, language, 8), _text(rng, language, words)
            earlier.append((title, body))
        when = format_datetime(start + timedelta(minutes=7 * n))
        parts.append(
            f"<item><title>{escape(title)}</title>"
            f"<link>https://site{index % 50}.example/{index}/{n}?utm_source=rss</link>"
            f"<guid isPermaLink=\"false\">feed{index}-item{n}</guid><pubDate>{when}</pubDate>"
            f"<description>{escape('<p>' + body + '</p>')}</description>"
            f"<category>bench</category></item>")
    parts.append("</channel></rss>\n")
    return "".join(parts)


def write_feeds(out: Path, files: int, items: int, *, words: int = 60, seed: int = 7) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths = []
    for index in range(files):
        path = out / f"feed{index:04d}.xml"
        path.write_text(feed_xml(rng, index, items, words), encoding="utf-8")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--words", type=int, default=60)
    args = parser.parse_args()
    paths = write_feeds(args.out, args.files, args.items, words=args.words)
    print(f"wrote {len(paths)} files, {args.files * args.items} items, "
          f"{sum(p.stat().st_size for p in paths) / 1e6:.1f} MB to {args.out}")


if __name__ == "__main__":
    main()
