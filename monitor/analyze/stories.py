"""Stories: the same event covered by several outlets, found chunk by chunk in time order.

An article is a vector made of two blocks, each L2-normalised, then joined and normalised
again (so one cosine mixes both):

    text block      TF-IDF of the title and lead tokens (analyze.text; IDF without
                    scikit-learn's +1: words in nearly every article weigh next to nothing), plus one
                    `c:<concept>` token per glossary concept the text mentions, so that
                    English, Russian and Chinese coverage of one event share features;
    entity block    names (capitalised Latin/Cyrillic words, stemmed) and numbers
                    (4,700 / 2022 / 12.5%), which pin down *which* event a text is about.

Articles are taken in publication order, a chunk at a time. Within a chunk they are grouped
by average-linkage agglomerative clustering (closest pairs first, so the result does not
depend on which article happened to arrive first); each group then joins the story whose
members published within `window_days` of it are, on average, most similar to the group
(average linkage again), if that mean reaches the threshold; otherwise it starts a new
story. Averaging over members keeps a story from drifting the way a growing centroid does,
and one close member cannot pull a neighbouring topic in. Across languages a pair counts the larger of its cosine and
`bridge_weight` times the cosine of the language-independent features. Similarities are
computed per chunk of documents against everything within the window (one sparse
product), so there is no per-day or per-story state to rebuild and comparisons stay local
in time, never all-pairs.

Existing assignments are never revised: an incremental run only places new articles,
so a story's id and members change only when an article joins it. A story's id is
derived from the article that started it, so a full rebuild gives the same ids.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime
from itertools import chain

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import AgglomerativeClustering
from sklearn.preprocessing import normalize

from monitor.analyze.glossary import Glossary
from monitor.analyze.text import tokenize

SECONDS_PER_DAY = 86_400.0
NBSP = "\u00a0"

# Names: capitalised Latin or Cyrillic words (runs of them are split into words) that
# start a word. Both patterns open with a character class, which the regex engine scans
# for quickly; the lookbehind after it (the letter or digit not preceded by ...) does what
# a leading \b or lookbehind did at every position (1.9 -> 1.0 s at 70,000 articles).
_NAME = re.compile(r"[A-ZА-ЯЁ](?<!\w[A-ZА-ЯЁ])[\w'’-]*\w")
# Numbers with at least two digits, thousands separators allowed; a trailing % kept.
_NUMBER = re.compile(r"\d(?<![0-9A-Za-z.,]\d)(?:[\d,.\u00a0]*\d%?|%)")


@dataclass(frozen=True)
class StoryParams:
    """Knobs of story grouping; the defaults come from feeds.yaml's `analysis` section."""

    window_days: int = 5
    threshold: float = 0.05    # mean member cosine to join (see config.Analysis)
    entity_weight: float = 0.8    # weight of the entity block against the text block
    lead_tokens: int = 80         # tokens of title + lead used (the lead carries the event)
    bridge_weight: float = 0.8    # how much a cross-language match counts against a same-language one


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
    bridge: tuple[str, ...] = ()   # concept tokens, then names and numbers: no language's own


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


def names_and_numbers(text: str, language: str) -> list[str]:
    """Entity features of a text: `n:<stem>` per capitalised word, `#:<digits>` per number."""
    entities = [f"#:{number.replace(',', '').replace(NBSP, '').rstrip('.')}"
                for number in _NUMBER.findall(text)]
    for name in _NAME.findall(text):
        entities += _name_features(name, language)
    return entities


@lru_cache(maxsize=1 << 16)
def _name_features(name: str, language: str) -> tuple[str, ...]:
    """`n:<stem>` features of one capitalised word (memoised: names recur across articles)."""
    return tuple(f"n:{stem}" for stem in tokenize(name, language))


def story_doc(*, id: str, published: datetime, language: str, outlet: str, title: str,
              lead: str, tokens: Sequence[str], glossary: Glossary,
              params: StoryParams = StoryParams(), story_id: str | None = None) -> StoryDoc:
    """Build a StoryDoc from an article's cached tokens (title first) and its raw lead."""
    lead_tokens = list(tokens[:params.lead_tokens])
    concepts = glossary.concepts(lead_tokens)
    entities = names_and_numbers(f"{title}\n{lead}", language)
    return StoryDoc(id=id, published=published, language=language, outlet=outlet, title=title,
                    terms=tuple(lead_tokens + concepts), entities=tuple(entities), story_id=story_id,
                    bridge=tuple(concepts + entities))


def story_id_for(first_article_id: str) -> str:
    """A story's id: derived from the article that started it, so rebuilds keep it."""
    return "s-" + hashlib.sha1(first_article_id.encode("utf-8")).hexdigest()[:16]


class Frequencies:
    """Document frequencies of story features (terms, concepts, names, numbers) over every
    article grouped so far. The IDF of an incremental run then matches the full run's
    instead of coming from the few articles near the new ones."""

    def __init__(self, documents: int = 0, counts: dict[str, int] | None = None):
        self.documents = documents
        self.counts: dict[str, int] = dict(counts or {})

    @classmethod
    def of(cls, docs: Iterable[StoryDoc]) -> Frequencies:
        frequencies = cls()
        frequencies.add(docs)
        return frequencies

    def add(self, docs: Iterable[StoryDoc]) -> None:
        docs = list(docs)
        self.documents += len(docs)
        added = Counter(chain.from_iterable({*doc.terms, *doc.entities} for doc in docs))
        counts = self.counts
        for feature, count in added.items():
            counts[feature] = counts.get(feature, 0) + count

    def idf(self, features: Sequence[str], floor: float = 1.0) -> np.ndarray:
        """Smoothed IDF, ln((1 + n) / (1 + df)) + floor; floor 1 is scikit-learn's
        TfidfVectorizer, floor 0 gives a feature found in every document no weight."""
        df = np.array([self.counts.get(f, 0) for f in features], dtype=np.float64)
        return np.log((1.0 + self.documents) / (1.0 + df)) + floor

    def to_json(self) -> dict:
        return {"documents": self.documents, "counts": self.counts}

    @classmethod
    def from_json(cls, value: Mapping | None) -> Frequencies | None:
        if not value or "counts" not in value:
            return None
        return cls(int(value["documents"]), dict(value["counts"]))


def tfidf_rows(values: Sequence[Sequence[str]], frequencies: Frequencies,
               idf_floor: float = 1.0) -> sp.csr_matrix:
    """L2-normalised TF-IDF rows (sublinear tf) of feature lists, IDF from `frequencies`."""
    if not values:
        return sp.csr_matrix((0, 1), dtype=np.float32)
    vocabulary = {f: n for n, f in enumerate(dict.fromkeys(chain.from_iterable(values)))}
    indices = list(map(vocabulary.__getitem__, chain.from_iterable(values)))
    indptr = np.concatenate([[0], np.cumsum([len(features) for features in values])])
    counts = sp.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, indptr),
                           shape=(len(values), max(len(vocabulary), 1)))
    counts.sum_duplicates()
    counts.data = 1.0 + np.log(counts.data)
    if vocabulary:
        counts = counts @ sp.diags(frequencies.idf(list(vocabulary), idf_floor).astype(np.float32))
    return normalize(counts.tocsr())


def doc_vectors(docs: Sequence[StoryDoc], params: StoryParams,
                frequencies: Frequencies | None = None) -> sp.csr_matrix:
    """L2-normalised rows mixing the text block and the entity block of each document
    (IDF from `frequencies`, else from `docs` themselves).

    The text block's IDF has no floor: coverage of one topic shares its words (social,
    credit, system) in nearly every article, and with scikit-learn's +1 those words alone
    made two unrelated articles of a busy week similar enough to join one story. Names and
    numbers keep the +1: a name in many articles still says which event one is about."""
    if not docs:
        return sp.csr_matrix((0, 1), dtype=np.float32)
    frequencies = frequencies or Frequencies.of(docs)
    blocks = [tfidf_rows([doc.terms for doc in docs], frequencies, idf_floor=0.0)]
    if params.entity_weight > 0:
        blocks.append(tfidf_rows([doc.entities for doc in docs], frequencies) * params.entity_weight)
    return normalize(sp.hstack(blocks, format="csr")).astype(np.float32)


def bridge_vectors(docs: Sequence[StoryDoc], frequencies: Frequencies | None = None) -> sp.csr_matrix:
    """L2-normalised rows of the features that do not depend on the language: glossary
    concepts, numbers and names. They carry a story from one language into another.

    IDF here has no floor: in a topic's coverage a few concepts (the topic itself) are in
    nearly every article, and with scikit-learn's +1 they made any two articles of one week
    look alike across languages, chaining unrelated commentary into one story."""
    return tfidf_rows([doc.bridge for doc in docs], frequencies or Frequencies.of(docs),
                      idf_floor=0.0).astype(np.float32)


def assign_stories(docs: Sequence[StoryDoc], params: StoryParams = StoryParams(),
                   frequencies: Frequencies | None = None) -> dict[str, str]:
    """Story ids for the documents without one; documents with one are context.

    Context documents should include every member of each story that may still be open
    (last seen within the window before the earliest new document). `frequencies` should
    count every grouped article (default: `docs` alone)."""
    order = sorted(range(len(docs)), key=lambda i: (docs[i].published, docs[i].id))
    docs = [docs[i] for i in order]
    clustering = _ChunkClustering(docs, params, frequencies or Frequencies.of(docs))
    new = [i for i, doc in enumerate(docs) if doc.story_id is None]
    assigned: dict[str, str] = {}
    for start in range(0, len(new), _CHUNK):
        for i, story in clustering.place_chunk(new[start:start + _CHUNK]):
            assigned[docs[i].id] = story
    return assigned


_CHUNK = 256    # new documents whose similarities are computed in one sparse product
# (small enough that the chunk's own span adds little to the window around each document)


def _day(when: datetime) -> float:
    return when.timestamp() / SECONDS_PER_DAY


class _ChunkClustering:
    """Average-linkage clustering in time order, one chunk of new documents at a time.

    A group's score for a story is the mean similarity of its documents with the story's
    members published within the window (before or after them): average linkage, which
    neither drifts like a centroid nor lets one close member pull in a whole topic.
    The similarity of two documents is the cosine of their vectors, or, across languages,
    the larger of that and `bridge_weight` times the cosine of their language-independent
    features (concepts, names, numbers).

    Similarities come from one sparse product per chunk of new documents against every
    document within the window of the chunk, so the work grows with the number of
    documents, not days, and no per-story state needs rebuilding."""

    def __init__(self, docs: Sequence[StoryDoc], params: StoryParams, frequencies: Frequencies):
        self.docs = docs
        self.params = params
        self.vectors = doc_vectors(docs, params, frequencies)
        self.bridge = bridge_vectors(docs, frequencies)
        codes: dict[str, int] = {}
        self.languages = np.array([codes.setdefault(doc.language, len(codes)) for doc in docs])
        self.days = np.array([_day(doc.published) for doc in docs])
        self.story_ids: list[str] = []
        index: dict[str, int] = {}
        for doc in docs:
            if doc.story_id is not None and doc.story_id not in index:
                index[doc.story_id] = len(self.story_ids)
                self.story_ids.append(doc.story_id)
        self.story_of = np.array([index[doc.story_id] if doc.story_id is not None else -1
                                  for doc in docs], dtype=np.int64)

    def place_chunk(self, chunk: list[int]) -> list[tuple[int, str]]:
        """Place a chunk of new documents (in time order); return (index, story id) pairs.

        The chunk is first grouped by average-linkage agglomerative clustering, which
        merges the closest pairs first whatever their order of arrival; then each group
        joins the open story whose members are on average most similar to the group's
        members, or starts a story of its own."""
        window = self.params.window_days
        low = int(np.searchsorted(self.days, self.days[chunk[0]] - window, side="left"))
        high = int(np.searchsorted(self.days, self.days[chunk[-1]] + window, side="right"))
        sims = self._similarities(chunk, low, high)
        span_days = self.days[low:high]
        span_stories = self.story_of[low:high].copy()   # before this chunk's placements
        placed: list[tuple[int, str]] = []
        for rows in self._chunk_groups(chunk, sims[:, np.asarray(chunk) - low]):
            members = [chunk[row] for row in rows]
            near = ((span_days >= self.days[members].min() - window)
                    & (span_days <= self.days[members].max() + window))
            story = self._best_story(sims[rows][:, near].mean(axis=0), span_stories[near])
            if story < 0:
                story = len(self.story_ids)
                self.story_ids.append(story_id_for(self.docs[members[0]].id))
            self.story_of[members] = story
            placed.extend((i, self.story_ids[story]) for i in members)
        return placed

    def _chunk_groups(self, chunk: list[int], sims: np.ndarray) -> list[np.ndarray]:
        """Rows of the chunk grouped by average linkage at the story threshold, pairs
        further apart than the window counting as unrelated; each group's rows in time
        order, groups ordered by their first row."""
        if len(chunk) == 1:
            return [np.zeros(1, dtype=np.int64)]
        days = self.days[chunk]
        related = np.where(np.abs(days[:, None] - days[None, :]) <= self.params.window_days, sims, 0.0)
        distances = np.clip(1.0 - related, 0.0, None)
        np.fill_diagonal(distances, 0.0)
        labels = AgglomerativeClustering(
            n_clusters=None, metric="precomputed", linkage="average",
            distance_threshold=1.0 - self.params.threshold).fit_predict(distances)
        groups: dict[int, list[int]] = {}
        for row, label in enumerate(labels):
            groups.setdefault(int(label), []).append(row)
        return [np.array(rows) for rows in groups.values()]

    def _similarities(self, chunk: list[int], low: int, high: int) -> np.ndarray:
        """Pairwise similarities of the chunk's documents with documents low..high."""
        sims = (self.vectors[chunk] @ self.vectors[low:high].T).toarray()
        if self.params.bridge_weight > 0:
            cross = self.languages[chunk][:, None] != self.languages[low:high][None, :]
            if cross.any():
                bridged = (self.bridge[chunk] @ self.bridge[low:high].T).toarray()
                bridged *= self.params.bridge_weight
                np.maximum(sims, np.where(cross, bridged, 0.0), out=sims)
        return sims

    def _best_story(self, sims: np.ndarray, stories: np.ndarray) -> int:
        """The story with the highest mean similarity, if it reaches the threshold; else -1."""
        placed = stories >= 0
        members = stories[placed]
        if not len(members):
            return -1
        # Story numbers near one date are close together, so offsets keep bincount small.
        base = members.min()
        members -= base
        counts = np.bincount(members)
        means = np.bincount(members, weights=sims[placed]) / np.maximum(counts, 1)
        best = int(np.argmax(means))   # a number with no member has mean 0 < any best
        return int(base) + best if means[best] >= self.params.threshold else -1


def summarize(docs: Sequence[StoryDoc], story_of: Mapping[str, str],
              params: StoryParams = StoryParams(), frequencies: Frequencies | None = None) -> list[Story]:
    """Summaries of the stories of `docs` (all their members must be among `docs`).

    The headline is the most central member: the one most similar to the story's centroid."""
    vectors = doc_vectors(docs, params, frequencies)
    groups: dict[str, list[int]] = {}
    for i in sorted(range(len(docs)), key=lambda i: (docs[i].published, docs[i].id)):
        story = story_of.get(docs[i].id) or docs[i].story_id
        if story:
            groups.setdefault(story, []).append(i)
    centrality = _centrality(vectors, list(groups.values()))
    return [_summary(story, [docs[i] for i in idx], centrality[idx]) for story, idx in groups.items()]


def _centrality(vectors: sp.csr_matrix, groups: list[list[int]]) -> np.ndarray:
    """Each grouped row's dot product with the sum of its group's rows, for all groups at
    once. The arithmetic is a per-group `rows @ rows.sum(axis=0).T`, float for float:
    centroids add members in group order, and each row's products (float32) are summed
    in the row's stored order."""
    centrality = np.zeros(vectors.shape[0], dtype=np.float32)
    if not groups:
        return centrality
    members = np.concatenate([np.asarray(group, dtype=np.int64) for group in groups])
    sizes = np.array([len(group) for group in groups])
    indicator = sp.csr_matrix((np.ones(len(members), dtype=np.float32), members,
                               np.concatenate([[0], np.cumsum(sizes)])),
                              shape=(len(groups), vectors.shape[0]))
    centroids = indicator @ vectors
    centroids.sort_indices()
    rows = vectors[members]
    # Look up each entry's centroid weight: (group, column) keys, sorted in the centroids.
    width = np.int64(vectors.shape[1])
    keys = (np.repeat(np.arange(len(groups), dtype=np.int64), np.diff(centroids.indptr)) * width
            + centroids.indices)
    entry_groups = np.repeat(np.repeat(np.arange(len(groups), dtype=np.int64), sizes), np.diff(rows.indptr))
    weights = centroids.data[np.searchsorted(keys, entry_groups * width + rows.indices)]
    products = sp.csr_matrix((rows.data * weights, rows.indices, rows.indptr), shape=rows.shape)
    centrality[members] = products @ np.ones(rows.shape[1], dtype=np.float32)
    return centrality


def _summary(story: str, ordered: list[StoryDoc], centrality: np.ndarray) -> Story:
    """A story's summary from its members in time order and their centrality."""
    central = ordered[0]
    if len(ordered) > 1:
        # Ties go to the earliest article, the one that broke the news; rounded so that
        # float noise does not decide them (two-member stories always tie).
        central = ordered[int(np.argmax(np.round(centrality, 5)))]
    return Story(
        id=story, headline=central.title, headline_article_id=central.id,
        first_seen=ordered[0].published, last_seen=ordered[-1].published,
        article_count=len(ordered),
        outlets=tuple(sorted({d.outlet for d in ordered if d.outlet})),
        languages=tuple(sorted({d.language for d in ordered if d.language})),
        article_ids=tuple(d.id for d in ordered))
