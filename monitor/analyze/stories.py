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
from bisect import bisect_left, bisect_right
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
    clustering.prepare_context()
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
    the cosine with the centroid of the story's recent members (those within the window
    of the document's day), and (scaled by `bridge_weight`) the cosine of its
    language-independent features with the centroid of the story's recent members
    written in *other* languages. Centroids are sums of member vectors, so a day costs a
    few sparse products with the open stories' recent members, never all pairs."""

    def __init__(self, docs: Sequence[StoryDoc], params: StoryParams):
        self.docs = docs
        self.params = params
        self.vectors = doc_vectors(docs, params)
        self.bridge = bridge_vectors(docs)
        self.languages = np.array([doc.language for doc in docs], dtype=object)
        self.days = np.array([_day(doc.published) for doc in docs])
        self.members: dict[str, list[int]] = {}
        self.member_days: dict[str, list[float]] = {}
        self.first_day: dict[str, float] = {}
        self.last_day: dict[str, float] = {}
        self.open: set[str] = set()
        self.pending: list[tuple[float, str]] = []    # context stories not open yet

    def add_member(self, story: str, index: int) -> None:
        """Add a member; members must come in day order (documents are sorted)."""
        day = self.days[index]
        self.members.setdefault(story, []).append(index)
        self.member_days.setdefault(story, []).append(day)
        self.first_day[story] = min(day, self.first_day.get(story, day))
        self.last_day[story] = max(day, self.last_day.get(story, day))

    def prepare_context(self) -> None:
        self.pending = sorted((self.first_day[s], s) for s in self.members)

    def open_stories(self, day: float) -> list[str]:
        """Stories with a member within the window around `day`. Days only grow, so a story
        that closed stays closed; a context story opens once `day` is within the window of
        its first article (a late article may join a story that began a few days after it)."""
        window = self.params.window_days
        while self.pending and self.pending[0][0] <= day + window:
            self.open.add(self.pending.pop(0)[1])
        self.open = {s for s in self.open if self.last_day[s] >= day - window}
        return sorted(self.open)

    def recent_members(self, story: str, day: float) -> list[int]:
        window = self.params.window_days
        days = self.member_days[story]
        low, high = bisect_left(days, day - window), bisect_right(days, day + window)
        return self.members[story][low:high]

    def place_block(self, block: list[int]) -> list[tuple[int, str]]:
        """Place one day's new documents in time order; return (index, story id) pairs."""
        state = _BlockState(self, block, self.open_stories(self.days[block[0]]))
        placed: list[tuple[int, str]] = []
        for k, i in enumerate(block):
            story = state.place(k, self.docs[i].id)
            self.add_member(story, i)
            self.open.add(story)
            placed.append((i, story))
        return placed


class _BlockState:
    """Similarities of one day's documents with the open stories and with each other."""

    def __init__(self, owner: _OnlineClustering, block: list[int], open_ids: list[str]):
        self.params = owner.params
        self.story_ids = list(open_ids)
        self.n_open = len(open_ids)
        self.block_languages = owner.languages[block]
        day = owner.days[block[0]]
        recent = [owner.recent_members(s, day) for s in open_ids]
        members = [m for group in recent for m in group]
        positions = np.repeat(np.arange(len(open_ids)), [len(group) for group in recent]).astype(int)
        member_languages = owner.languages[members]
        self.all_languages = sorted(set(self.block_languages) | set(member_languages))
        x_block, x_members = _on_block_terms(owner.vectors, block, members)
        y_block, y_members = _on_block_terms(owner.bridge, block, members)
        self.to_open = _aggregate(x_block, x_members, positions, len(open_ids))
        self.within = (x_block @ x_block.T.tocsr()).toarray()
        self.bridge_within = (y_block @ y_block.T.tocsr()).toarray()
        self.norm2 = list(_row_norms2(_group_sums(owner.vectors[members], positions, len(open_ids))))
        self.bridge_own: dict[str, np.ndarray] = {}
        self.other_norm2: dict[str, list[float]] = {}
        y_all = owner.bridge[members]
        totals = _group_sums(y_all, positions, len(open_ids))
        bridge_all = _aggregate(y_block, y_members, positions, len(open_ids))
        for language in self.all_languages:
            mine = member_languages == language
            own = _group_sums(y_all[mine], positions[mine], len(open_ids))
            self.other_norm2[language] = list(_row_norms2(totals - own))
            self.bridge_own[language] = _aggregate(y_block, y_members[mine], positions[mine], len(open_ids))
        self.bridge_all = bridge_all
        self.local = np.full(len(block), -1)

    def place(self, k: int, doc_id: str) -> str:
        language = self.block_languages[k]
        text_dots = self._text_dots(k)
        bridge_other = self._bridge_dots(k, None) - self._bridge_dots(k, language)
        scores = np.maximum(_cosines(text_dots, self.norm2),
                            self.params.bridge_weight * _cosines(bridge_other, self.other_norm2[language]))
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

    def _bridge_dots(self, k: int, language: str | None) -> np.ndarray:
        """Dots of document k's bridge vector with each story's recent members (only those
        in `language`, when given)."""
        dots = np.zeros(len(self.story_ids))
        dots[:self.n_open] = (self.bridge_all if language is None else self.bridge_own[language])[k]
        if k:
            mask = np.ones(k, dtype=bool) if language is None else self.block_languages[:k] == language
            dots += np.bincount(self.local[:k][mask], weights=self.bridge_within[k, :k][mask],
                                minlength=len(dots))
        return dots

    def _join(self, k: int, story: int, language: str, text_dot: float) -> None:
        self.norm2[story] += 2 * text_dot + self.within[k, k]
        bridge_all = self._bridge_dots(k, None)[story]
        for other in self.all_languages:
            if other != language:
                dot = bridge_all - self._bridge_dots(k, other)[story]
                self.other_norm2[other][story] += 2 * dot + self.bridge_within[k, k]
        self.local[k] = story


def _group_sums(rows: sp.csr_matrix, groups: np.ndarray, n_groups: int) -> sp.csr_matrix:
    indicator = sp.csr_matrix((np.ones(len(groups), dtype=np.float32), (groups, np.arange(len(groups)))),
                              shape=(n_groups, rows.shape[0]))
    return (indicator @ rows).tocsr()


def _on_block_terms(matrix: sp.csr_matrix, block: list[int], members: list[int]
                    ) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """The block's rows and the members' rows restricted to the terms the block uses.

    Only those terms can add to a dot product, and the narrow matrices keep sparse
    products from paying for the whole vocabulary once per day."""
    rows = matrix[block]
    terms = np.unique(rows.indices)
    return _select_terms(rows, terms), _select_terms(matrix[members], terms)


def _select_terms(rows: sp.csr_matrix, terms: np.ndarray) -> sp.csr_matrix:
    position = np.searchsorted(terms, rows.indices)
    position = np.minimum(position, max(len(terms) - 1, 0))
    keep = terms[position] == rows.indices if len(terms) else np.zeros(len(rows.indices), dtype=bool)
    kept_before = np.concatenate([[0], np.cumsum(keep)])
    return sp.csr_matrix((rows.data[keep], position[keep], kept_before[rows.indptr]),
                         shape=(rows.shape[0], len(terms)))


def _aggregate(block: sp.csr_matrix, members: sp.csr_matrix, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Sums of each block row's dot products with the members, grouped: block x groups."""
    if not len(groups):
        return np.zeros((block.shape[0], n_groups))
    indicator = sp.csr_matrix((np.ones(len(groups)), (np.arange(len(groups)), groups)),
                              shape=(len(groups), n_groups))
    dots = (members @ block.T.tocsr()).toarray()          # members x block
    return np.asarray(indicator.T @ dots).T


def _cosines(dots: np.ndarray, norm2: list[float]) -> np.ndarray:
    norms = np.sqrt(np.maximum(np.asarray(norm2, dtype=np.float64), 0.0))
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 1e-12)


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
