"""Stories: the same event covered by several outlets, found online in time order.

An article is a vector made of two blocks, each L2-normalised, then joined and normalised
again (so one cosine mixes both):

    text block      TF-IDF of the title and lead tokens (analyze.text), plus one
                    `c:<concept>` token per glossary concept the text mentions, so that
                    English, Russian and Chinese coverage of one event share features;
    entity block    names (capitalised Latin/Cyrillic words, stemmed) and numbers
                    (4,700 / 2022 / 12.5%), which pin down *which* event a text is about.

Articles are taken day by day in publication order. Each joins the open story whose
centroid (sum of its members' vectors) is most similar, if that cosine reaches the
threshold; otherwise it starts a new story. A story is open while its last article is at
most `window_days` old, so comparisons stay local in time and never all-pairs.

Existing assignments are never revised: an incremental run only places new articles,
so a story's id and members change only when an article joins it. A story's id is
derived from the article that started it, so a full rebuild gives the same ids.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from monitor.analyze.text import add_zh_words, make_vectorizer, stem_phrase, tokenize

SECONDS_PER_DAY = 86_400.0

# Names: capitalised Latin or Cyrillic words (runs of them are split into words).
_NAME = re.compile(r"\b[A-ZА-ЯЁ][\w'’-]*[\w]")
# Numbers with at least two digits, thousands separators allowed; a trailing % kept.
_NUMBER = re.compile(r"(?<![0-9A-Za-z.,])\d[\d,.\u00a0]*\d%?|(?<![0-9A-Za-z.,])\d%")


@dataclass(frozen=True)
class StoryParams:
    """Knobs of story grouping; the defaults come from feeds.yaml's `analysis` section."""

    window_days: int = 5
    threshold: float = 0.15
    entity_weight: float = 0.8    # weight of the entity block against the text block
    lead_tokens: int = 80         # tokens of title + lead used (the lead carries the event)
    bridge_weight: float = 0.8    # how much a cross-language match counts against a same-language one
    bigrams: bool = False         # word pairs as features too (measured: no gain on WikiRef)


@dataclass(frozen=True)
class StoryDoc:
    """One article as story grouping sees it; `story_id` is set when already assigned."""

    id: str
    published: datetime
    language: str
    outlet: str
    title: str
    terms: tuple[str, ...]       # lead tokens plus concept tokens
    entities: tuple[str, ...]    # names and numbers
    story_id: str | None = None


@dataclass(frozen=True)
class Story:
    """A story's summary as stored in the stories table."""

    id: str
    headline: str
    headline_article_id: str
    first_seen: datetime
    last_seen: datetime
    article_count: int
    outlets: tuple[str, ...]
    languages: tuple[str, ...]
    article_ids: tuple[str, ...]


class Glossary:
    """The topic's concept glossary compiled to token phrases, for any article language."""

    def __init__(self, glossary: Mapping[str, Mapping[str, Sequence[str]]]):
        by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for concept, terms_by_language in glossary.items():
            for language, terms in terms_by_language.items():
                if language == "zh":
                    add_zh_words(terms)   # keep multi-character terms whole
                for term in terms:
                    phrase = stem_phrase(term, language)
                    if phrase:
                        by_first.setdefault(phrase[0], []).append((phrase, concept))
        self._by_first = by_first

    def concepts(self, tokens: Sequence[str]) -> list[str]:
        """Concept tokens (`c:<concept>`) for every glossary phrase found in `tokens`."""
        if not self._by_first:
            return []
        found: list[str] = []
        for i, token in enumerate(tokens):
            for phrase, concept in self._by_first.get(token, ()):
                if tuple(tokens[i:i + len(phrase)]) == phrase:
                    found.append(f"c:{concept}")
        return found


def names_and_numbers(text: str, language: str) -> list[str]:
    """Entity features of a text: `n:<stem>` per capitalised word, `#:<digits>` per number."""
    entities: list[str] = []
    for match in _NUMBER.finditer(text):
        number = re.sub(r"[,\u00a0]", "", match.group()).rstrip(".")
        entities.append(f"#:{number}")
    names = " ".join(m.group() for m in _NAME.finditer(text))
    entities.extend(f"n:{stem}" for stem in tokenize(names, language))
    return entities


def story_doc(*, id: str, published: datetime, language: str, outlet: str, title: str,
              lead: str, tokens: Sequence[str], glossary: Glossary,
              params: StoryParams = StoryParams(), story_id: str | None = None) -> StoryDoc:
    """Build a StoryDoc from an article's cached tokens (title first) and its raw lead."""
    lead_tokens = list(tokens[:params.lead_tokens])
    terms = tuple(lead_tokens + glossary.concepts(lead_tokens))
    entities = tuple(names_and_numbers(f"{title}\n{lead}", language))
    return StoryDoc(id=id, published=published, language=language, outlet=outlet, title=title,
                    terms=terms, entities=entities, story_id=story_id)


def story_id_for(first_article_id: str) -> str:
    """A story's id: derived from the article that started it, so rebuilds keep it."""
    return "s-" + hashlib.sha1(first_article_id.encode("utf-8")).hexdigest()[:16]


def doc_vectors(docs: Sequence[StoryDoc], params: StoryParams) -> sp.csr_matrix:
    """L2-normalised rows mixing the text block and the entity block of each document."""
    blocks = []
    for field, weight, ngrams in (("terms", 1.0, (1, 2) if params.bigrams else (1, 1)),
                                  ("entities", params.entity_weight, (1, 1))):
        values = [getattr(doc, field) for doc in docs]
        if weight <= 0 or not any(values):
            continue
        try:
            matrix = make_vectorizer(min_df=1, max_df=1.0, ngram_range=ngrams).fit_transform(values)
        except ValueError:   # empty vocabulary
            continue
        blocks.append(normalize(matrix) * weight)
    if not blocks:
        return sp.csr_matrix((len(docs), 1), dtype=np.float32)
    return normalize(sp.hstack(blocks, format="csr")).astype(np.float32)


def bridge_vectors(docs: Sequence[StoryDoc]) -> sp.csr_matrix:
    """L2-normalised rows of the features that do not depend on the language: glossary
    concepts, numbers and names. They carry a story from one language into another."""
    values = [tuple(t for t in doc.terms if t.startswith("c:")) + doc.entities for doc in docs]
    if not any(values):
        return sp.csr_matrix((len(docs), 1), dtype=np.float32)
    matrix = make_vectorizer(min_df=1, max_df=1.0).fit_transform(values)
    return normalize(matrix).astype(np.float32)


def assign_stories(docs: Sequence[StoryDoc], params: StoryParams = StoryParams()) -> dict[str, str]:
    """Story ids for the documents without one; documents with one are context.

    Context documents should include every member of each story that may still be open
    (last seen within the window before the earliest new document)."""
    order = sorted(range(len(docs)), key=lambda i: (docs[i].published, docs[i].id))
    docs = [docs[i] for i in order]
    clustering = _OnlineClustering(docs, params)
    for i, doc in enumerate(docs):
        if doc.story_id is not None:
            clustering.add_member(doc.story_id, i)
    new = [i for i, doc in enumerate(docs) if doc.story_id is None]
    assigned: dict[str, str] = {}
    for block in _day_blocks(new, docs):
        for i, story in clustering.place_block(block):
            assigned[docs[i].id] = story
    return assigned


def _day(when: datetime) -> float:
    return when.timestamp() / SECONDS_PER_DAY


def _day_blocks(indexes: list[int], docs: Sequence[StoryDoc]) -> Iterable[list[int]]:
    block: list[int] = []
    for i in indexes:
        if block and int(_day(docs[i].published)) != int(_day(docs[block[0]].published)):
            yield block
            block = []
        block.append(i)
    if block:
        yield block


def _row_norms2(matrix: sp.csr_matrix) -> np.ndarray:
    return np.asarray(matrix.multiply(matrix).sum(axis=1), dtype=np.float64).ravel()


class _OnlineClustering:
    """Single-pass clustering state: the members and active days of every story.

    A document is compared with each open story in two ways, and the better counts:
    the cosine with the story's centroid, and (scaled by `bridge_weight`) the cosine of
    its language-independent features with the centroid of the story's members written
    in *other* languages. Sums and squared norms are kept up to date as documents join,
    so one day's documents cost one sparse product with the open stories."""

    def __init__(self, docs: Sequence[StoryDoc], params: StoryParams):
        self.docs = docs
        self.params = params
        self.vectors = doc_vectors(docs, params)
        self.bridge = bridge_vectors(docs)
        self.languages = np.array([doc.language for doc in docs], dtype=object)
        self.days = np.array([_day(doc.published) for doc in docs])
        self.members: dict[str, list[int]] = {}
        self.first_day: dict[str, float] = {}
        self.last_day: dict[str, float] = {}

    def add_member(self, story: str, index: int) -> None:
        day = self.days[index]
        self.members.setdefault(story, []).append(index)
        self.first_day[story] = min(day, self.first_day.get(story, day))
        self.last_day[story] = max(day, self.last_day.get(story, day))

    def open_stories(self, day: float) -> list[str]:
        """Stories active within the window around `day` (a late article may join a story
        that began after it was published, if only by a few days)."""
        window = self.params.window_days
        return [s for s, last in self.last_day.items()
                if last >= day - window and self.first_day[s] <= day + window]

    def place_block(self, block: list[int]) -> list[tuple[int, str]]:
        """Place one day's new documents in time order; return (index, story id) pairs."""
        state = _BlockState(self, block, self.open_stories(self.days[block[0]]))
        placed: list[tuple[int, str]] = []
        for k, i in enumerate(block):
            story = state.place(k, self.docs[i].id)
            self.add_member(story, i)
            placed.append((i, story))
        return placed

    def centroids(self, story_ids: list[str], matrix: sp.csr_matrix,
                  language: str | None = None) -> sp.csr_matrix:
        rows, cols = [], []
        for row, story in enumerate(story_ids):
            members = self.members[story]
            if language is not None:
                members = [m for m in members if self.languages[m] == language]
            cols.extend(members)
            rows.extend([row] * len(members))
        indicator = sp.csr_matrix((np.ones(len(cols), dtype=np.float32), (rows, cols)),
                                  shape=(len(story_ids), matrix.shape[0]))
        return (indicator @ matrix).tocsr()


class _BlockState:
    """Similarities of one day's documents with the open stories and with each other."""

    def __init__(self, owner: _OnlineClustering, block: list[int], open_ids: list[str]):
        self.params = owner.params
        self.story_ids = list(open_ids)
        self.n_open = len(open_ids)
        self.block_languages = owner.languages[block]
        member_languages = {owner.languages[m] for s in open_ids for m in owner.members[s]}
        self.all_languages = sorted(set(self.block_languages) | member_languages)
        x_block, y_block = owner.vectors[block], owner.bridge[block]
        centroids = owner.centroids(open_ids, owner.vectors)
        self.to_open = (x_block @ centroids.T).toarray()
        self.within = (x_block @ x_block.T).toarray()
        self.norm2 = list(_row_norms2(centroids))
        # Bridge: per-language centroids, so "members in other languages" is total - own.
        totals = owner.centroids(open_ids, owner.bridge)
        self.bridge_total = (y_block @ totals.T).toarray()
        self.bridge_own: dict[str, np.ndarray] = {}
        self.other_norm2: dict[str, list[float]] = {}
        for language in self.all_languages:
            own = owner.centroids(open_ids, owner.bridge, language)
            self.bridge_own[language] = (y_block @ own.T).toarray()
            self.other_norm2[language] = list(_row_norms2(totals - own))
        self.bridge_within = (y_block @ y_block.T).toarray()
        self.local = np.full(len(block), -1)

    def place(self, k: int, doc_id: str) -> str:
        language = self.block_languages[k]
        text_dots = self._text_dots(k)
        bridge_dots = self._bridge_dots(k, language)
        scores = np.maximum(_cosines(text_dots, self.norm2),
                            self.params.bridge_weight * _cosines(bridge_dots, self.other_norm2[language]))
        best = int(np.argmax(scores)) if len(scores) else -1
        if best < 0 or scores[best] < self.params.threshold:
            self.story_ids.append(story_id_for(doc_id))
            self.norm2.append(0.0)
            for norms in self.other_norm2.values():
                norms.append(0.0)
            best = len(self.story_ids) - 1
            text_dots = np.append(text_dots, 0.0)
        self._join(k, best, language, text_dots[best])
        return self.story_ids[best]

    def _text_dots(self, k: int) -> np.ndarray:
        dots = np.zeros(len(self.story_ids))
        dots[:self.n_open] = self.to_open[k]
        if k:
            dots += np.bincount(self.local[:k], weights=self.within[k, :k], minlength=len(dots))
        return dots

    def _bridge_dots(self, k: int, language: str, story: int | None = None) -> np.ndarray:
        """Dots of document k's bridge vector with each story's members not in `language`."""
        dots = np.zeros(len(self.story_ids))
        dots[:self.n_open] = self.bridge_total[k] - self.bridge_own[language][k]
        if k:
            other = self.block_languages[:k] != language
            dots += np.bincount(self.local[:k][other], weights=self.bridge_within[k, :k][other],
                                minlength=len(dots))
        return dots

    def _join(self, k: int, story: int, language: str, text_dot: float) -> None:
        self.norm2[story] += 2 * text_dot + self.within[k, k]
        for other in self.all_languages:
            if other != language:
                dot = self._bridge_dots(k, other)[story]
                self.other_norm2[other][story] += 2 * dot + self.bridge_within[k, k]
        self.local[k] = story


def _cosines(dots: np.ndarray, norm2: list[float]) -> np.ndarray:
    norms = np.sqrt(np.asarray(norm2))
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


def summarize(docs: Sequence[StoryDoc], story_of: Mapping[str, str],
              params: StoryParams = StoryParams()) -> list[Story]:
    """Summaries of the stories of `docs` (all their members must be among `docs`).

    The headline is the most central member: the one most similar to the story's centroid."""
    vectors = doc_vectors(docs, params)
    groups: dict[str, list[int]] = {}
    for i, doc in enumerate(docs):
        story = story_of.get(doc.id) or doc.story_id
        if story:
            groups.setdefault(story, []).append(i)
    return [_summary(story, [docs[i] for i in idx], vectors[idx]) for story, idx in groups.items()]


def _summary(story: str, members: list[StoryDoc], vectors: sp.csr_matrix) -> Story:
    if len(members) > 1:
        centroid = sp.csr_matrix(vectors.sum(axis=0))
        centrality = np.asarray((vectors @ centroid.T).todense()).ravel()
        # Ties go to the earliest article: the one that broke the news.
        central = members[int(np.argmax(centrality + 1e-9 * np.arange(len(members))[::-1]))]
    else:
        central = members[0]
    ordered = sorted(members, key=lambda d: (d.published, d.id))
    return Story(
        id=story, headline=central.title, headline_article_id=central.id,
        first_seen=ordered[0].published, last_seen=ordered[-1].published,
        article_count=len(members),
        outlets=tuple(sorted({d.outlet for d in members if d.outlet})),
        languages=tuple(sorted({d.language for d in members if d.language})),
        article_ids=tuple(d.id for d in ordered))
