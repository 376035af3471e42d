"""Synthetic articles for scale benchmarks: N feeds x M items in English, Russian and Chinese.

Deterministic (seeded). Text is made of pseudo-words drawn with Zipf-like frequencies
(so TF-IDF sees a realistic long tail), titles of 8-14 words and leads of 40-90 words
(Chinese: characters in proportion). About half of the articles belong to a planted event
(a new event every ~3 days, each with its own key words, a name and a number, covered in
all three languages over a few days); about 70% carry the topic's name and are relevant.

    from benchmarks.datagen import generate_articles, insert_articles
    rows = generate_articles(100_000, feeds=200, seed=0)
    insert_articles(engine, rows)
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import accumulate

import sqlalchemy as sa

from monitor.store.schema import articles

LANGUAGES = ("en", "en", "en", "ru", "zh")          # the share of feeds per language
GROUPS = {"en": ("western", "think-tank"), "ru": ("russian",), "zh": ("chinese-state",)}
TOPIC = {"en": "social credit system", "ru": "система социального кредита", "zh": "社会信用体系"}
_EN_SYLLABLES = "ba be bi bo ca co da de di do fa fe ga go ha he la le li lo ma me mi mo na ne no pa pe po ra re ri ro sa se si so ta te ti to va ve vi".split()
_RU_SYLLABLES = "ба бе би бо ва ве ви во да де ди до за зе ка ке ки ко ла ле ли ло ма ме ми мо на не ни но ра ре ри ро са се си со та те ти то".split()
_ZH_CHARS = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系".replace(" ", "")


@dataclass(frozen=True)
class _Event:
    day: float
    words: dict[str, list[str]]
    name: str
    number: str


class _Vocabulary:
    """Pseudo-words per language with Zipf-like sampling weights."""

    def __init__(self, rng: random.Random, size: int = 4000):
        self.words = {"en": self._make(rng, _EN_SYLLABLES, size), "ru": self._make(rng, _RU_SYLLABLES, size),
                      "zh": ["".join(rng.choices(_ZH_CHARS, k=2)) for _ in range(size)]}
        self.cumulative = list(accumulate(1.0 / (rank + 1) for rank in range(size)))

    @staticmethod
    def _make(rng: random.Random, syllables: list[str], size: int) -> list[str]:
        return ["".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(size)]

    def sample(self, rng: random.Random, language: str, k: int) -> list[str]:
        return rng.choices(self.words[language], cum_weights=self.cumulative, k=k)


def _text(words: list[str], language: str) -> str:
    if language == "zh":
        return "".join(words) + "。"
    return " ".join(words).capitalize() + "."


def generate_articles(count: int, *, feeds: int = 200, seed: int = 0,
                      start: datetime = datetime(2019, 1, 1, tzinfo=timezone.utc),
                      days: int = 2000) -> list[dict]:
    """`count` article rows (dicts for the articles table) spread over `feeds` feeds and `days` days."""
    rng = random.Random(seed)
    vocabulary = _Vocabulary(random.Random(12345))   # the same words whatever the seed
    events = [_Event(day=d, words={lang: vocabulary.sample(rng, lang, 6)[:6] + [f"{lang}{i}"]
                                   for lang in ("en", "ru", "zh")},
                     name=f"Name{i}", number=str(1000 + i))
              for i, d in enumerate(range(0, days, 3))]
    feed_languages = [LANGUAGES[i % len(LANGUAGES)] for i in range(feeds)]
    rows = []
    for n in range(count):
        feed = n % feeds
        language = feed_languages[feed]
        day = rng.uniform(0, days)
        event = events[min(int(day // 3), len(events) - 1)] if rng.random() < 0.5 else None
        rows.append(_row(rng, vocabulary, n, seed, feed, language, start + timedelta(days=day), event))
    return rows


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


def insert_articles(engine: sa.Engine, rows: list[dict], chunk: int = 5000) -> None:
    """Insert generated rows directly (no feeds, no dedup): what analysis starts from."""
    with engine.begin() as conn:
        for i in range(0, len(rows), chunk):
            conn.execute(articles.insert(), rows[i:i + chunk])
