"""Synthetic articles for scale benchmarks: N feeds x M items in English, Russian and Chinese.

Deterministic (seeded). Text is made of words drawn with Zipf-like frequencies (so TF-IDF
sees a realistic long tail): pseudo-words in English and Russian, and in Chinese the most
frequent words of jieba's dictionary, so that segmentation meets real words. Titles have
8-14 words and leads 40-90 (Chinese: words in proportion). Half of the articles belong to a
planted event covered in all three languages over three days, each with its own key words,
a name and a number; event sizes are heavy-tailed as in real coverage (Pareto: most events
have two to five articles, a few have hundreds). About 70% carry the topic's name.

    from benchmarks.datagen import generate_articles, insert_articles
    rows = generate_articles(100_000, feeds=200, seed=0)
    insert_articles(engine, rows)
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import accumulate

import sqlalchemy as sa

from monitor.analyze.text import JIEBA_DICTIONARY
from monitor.store.schema import articles

LANGUAGES = ("en", "en", "en", "ru", "zh")          # the share of feeds per language
GROUPS = {"en": ("western", "think-tank"), "ru": ("russian",), "zh": ("chinese-state",)}
TOPIC = {"en": "social credit system", "ru": "система социального кредита", "zh": "社会信用体系"}
_EN_SYLLABLES = "ba be bi bo ca co da de di do fa fe ga go ha he la le li lo ma me mi mo na ne no pa pe po ra re ri ro sa se si so ta te ti to va ve vi".split()
_RU_SYLLABLES = "ба бе би бо ва ве ви во да де ди до за зе ка ке ки ко ла ле ли ло ма ме ми мо на не ни но ра ре ри ро са се си со та те ти то".split()


@dataclass(frozen=True)
class _Event:
    day: float
    words: dict[str, list[str]]
    name: str
    number: str


class _Vocabulary:
    """Words per language (pseudo-words; real ones in Chinese) with Zipf-like sampling weights."""

    def __init__(self, rng: random.Random, size: int = 4000):
        self.words = {"en": self._make(rng, _EN_SYLLABLES, size), "ru": self._make(rng, _RU_SYLLABLES, size),
                      "zh": _frequent_chinese_words(size)}
        self.cumulative = list(accumulate(1.0 / (rank + 1) for rank in range(size)))

    @staticmethod
    def _make(rng: random.Random, syllables: list[str], size: int) -> list[str]:
        return ["".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(size)]

    def sample(self, rng: random.Random, language: str, k: int) -> list[str]:
        return rng.choices(self.words[language], cum_weights=self.cumulative, k=k)


def _frequent_chinese_words(size: int) -> list[str]:
    """The `size` most frequent Han words of jieba's dictionary, most frequent first."""
    entries = []
    with open(JIEBA_DICTIONARY, encoding="utf-8") as handle:
        for line in handle:
            word, frequency = line.split()[:2]
            if all("\u4e00" <= char <= "\u9fff" for char in word):
                entries.append((-int(frequency), word))
    return [word for _, word in sorted(entries)[:size]]


def _text(words: list[str], language: str) -> str:
    if language == "zh":
        return "".join(words) + "。"
    text = " ".join(words)
    return text[:1].upper() + text[1:] + "."   # str.capitalize would lower-case the names


def generate_articles(count: int, *, feeds: int = 200, seed: int = 0,
                      start: datetime = datetime(2019, 1, 1, tzinfo=timezone.utc),
                      days: int = 2000) -> list[dict]:
    """`count` article rows (dicts for the articles table) spread over `feeds` feeds and `days` days."""
    rng = random.Random(seed)
    vocabulary = _Vocabulary(random.Random(12345))   # the same words whatever the seed
    feed_languages = [LANGUAGES[i % len(LANGUAGES)] for i in range(feeds)]
    rows = []
    for n, (day, event) in enumerate(_schedule(rng, vocabulary, count, days)):
        feed = n % feeds
        rows.append(_row(rng, vocabulary, n, seed, feed, feed_languages[feed],
                         start + timedelta(days=day), event))
    return rows


def _schedule(rng: random.Random, vocabulary: _Vocabulary, count: int,
              days: int) -> list[tuple[float, _Event | None]]:
    """(day, event) for `count` articles in random order: half of them in events whose
    sizes follow a Pareto law (shape 1.2, at least 2, at most 500), each event's articles
    within three days of its start; the rest on uniformly drawn days, in no event."""
    schedule: list[tuple[float, _Event | None]] = []
    while len(schedule) < count // 2:
        size = min(500, int(2 * rng.paretovariate(1.2)), count // 2 - len(schedule))
        number = len(schedule)
        event = _Event(day=rng.uniform(0, days),
                       words={lang: vocabulary.sample(rng, lang, 6) + [f"{lang}{number}"]
                              for lang in ("en", "ru", "zh")},
                       name=f"Name{number}", number=str(1000 + number))
        schedule += [(min(days, event.day + rng.uniform(0, 3)), event) for _ in range(max(size, 1))]
    schedule += [(rng.uniform(0, days), None) for _ in range(count - len(schedule))]
    rng.shuffle(schedule)
    return schedule


def _row(rng: random.Random, vocabulary: _Vocabulary, n: int, seed: int, feed: int, language: str,
         published: datetime, event: _Event | None) -> dict:
    scale = 2 if language == "zh" else 1
    title_words = vocabulary.sample(rng, language, rng.randint(8, 14) // scale)
    lead_words = vocabulary.sample(rng, language, rng.randint(40, 90) // scale)
    if event is not None:
        title_words[1:1] = rng.sample(event.words[language], 3)
        lead_words[3:3] = event.words[language] + [event.name, event.number]
    if rng.random() < 0.7:
        lead_words.insert(rng.randint(0, len(lead_words)), TOPIC[language])
    title, summary = _text(title_words, language), _text(lead_words, language)
    article_id = hashlib.sha1(f"{seed}:{n}".encode()).hexdigest()
    return {"id": article_id, "url": f"https://site{feed}.example/{seed}/{n}", "original_url": "",
            "title": title, "summary": summary, "published_at": published, "fetched_at": published,
            "language": language, "language_confidence": 1.0, "language_source": "declared",
            "outlet": f"Outlet {feed}", "group_name": rng.choice(GROUPS[language]),
            "feed": f"feed-{feed}", "content_hash": hashlib.sha1(f"{title}{summary}".encode()).hexdigest(),
            "categories": [], "date_flag": "ok"}


_EVENT_MARK = re.compile(r"(?:en|ru|zh)(\d+) ?Name\1")   # an event's marker word, then its name


def planted_event(summary: str) -> str | None:
    """The planted event a generated summary covers (its number), or None."""
    found = _EVENT_MARK.search(summary)
    return found.group(1) if found else None


def insert_articles(engine: sa.Engine, rows: list[dict], chunk: int = 5000) -> None:
    """Insert generated rows directly (no feeds, no dedup): what analysis starts from."""
    with engine.begin() as conn:
        for i in range(0, len(rows), chunk):
            conn.execute(articles.insert(), rows[i:i + chunk])
