"""Themes: recurring subjects, found by NMF on TF-IDF and kept stable across refits.

Fitting (`fit_themes`):
1. Features. A corpus in one language is described by the TF-IDF of its articles' cached
   tokens. A multilingual corpus whose articles mostly mention concepts of the topic's
   glossary (see `concept_mode`) is described by TF-IDF of those concepts, joined with a
   lighter word block: words of different languages never co-occur, so on words alone
   every language becomes its own theme, while "travel bans" or "credit repair" are the
   same feature in English, Russian and Chinese.
2. The number of themes k, unless given, is chosen on a sample: for each candidate k an
   NMF is fitted on four 80% subsamples; *stability* is how well their partitions agree
   (mean pairwise NMI on the articles two runs share), and *coherence* is the mean NPMI
   of each theme's top ten terms over the sample (Greene et al. 2014 choose k the same way). The most
   stable k wins; candidates within `STABILITY_TOLERANCE` of it are decided by coherence
   (concept fits: more runs and a band of `CONCEPT_TOLERANCE`, their stability being noisier).
   k = 2 is never a candidate: splitting any corpus in two is trivially stable.
3. NMF with that k gives each article its strongest component; a few spherical k-means
   steps then polish the partition (measured: NMI 0.845 -> 0.867 on BBC News at k=5).
4. Each theme is labelled by its distinctive terms (centroid weight minus the mean of the
   other centroids), shown as glossary concept names or as each stem's most frequent word
   form, and by three central headlines, in as many languages as the theme spans.

Between refits, new articles go to the theme whose stored centroid is most similar
(`assign_to_centroids`). A refit's themes are matched to the stored ones (`match_themes`)
so ids survive; births, merges, splits and retirements are reported as events.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment
from sklearn.decomposition import NMF
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

from monitor.analyze.glossary import CONCEPT
from monitor.analyze.text import make_vectorizer, tokenize

K_CANDIDATES = range(3, 11)
SELECTION_SAMPLE = 2000      # articles used to choose k
SELECTION_TERMS = 5000       # their most frequent terms
FIT_SAMPLE = 20_000          # articles the final NMF is fitted on (all are then assigned)
SUBSAMPLES = 4
STABILITY_TOLERANCE = 0.01
# Concept features are few and most articles mention only a handful, so the stability of a
# concept fit varies more from one set of subsamples to the next: more runs, a wider band.
CONCEPT_SUBSAMPLES = 6
CONCEPT_TOLERANCE = 0.05
CONCEPT_SELECTION_TERMS = 1500   # concepts are frequent, so they stay among these
STATE_TERMS = 200            # centroid terms kept per theme for matching and assignment
MATCH_THRESHOLD = 0.3        # cosine of centroids above which two themes are "the same"

WORD_WEIGHT = 0.5            # weight of the word block beside the concept block
MIN_LANGUAGE_SHARE = 0.05    # a language counts when it has this share of the articles
MIN_CONCEPT_COVERAGE = 0.6   # share of articles that must mention some glossary concept
MIN_CONCEPTS = 10            # distinct concepts the corpus must mention
LABEL_SAMPLE = 100           # central members whose text gives the labels' word forms


@dataclass(frozen=True)
class ThemeDoc:
    id: str
    title: str
    tokens: tuple[str, ...]
    language: str = ""
    concepts: tuple[str, ...] = ()   # glossary concept features ("c:<concept>") of the text
    text: str = ""                   # title and lead: the words behind the stems of labels


@dataclass(frozen=True)
class FittedTheme:
    """One theme of a fit: its centroid terms, label, headlines and members."""

    terms: tuple[str, ...]                 # distinctive terms, best first
    weights: dict[str, float]              # centroid term weights (top STATE_TERMS)
    headlines: tuple[str, ...]             # three representative titles
    article_ids: tuple[str, ...]

    @property
    def label(self) -> str:
        return " · ".join(self.terms[:4])


@dataclass(frozen=True)
class ThemeFit:
    themes: tuple[FittedTheme, ...]
    idf: dict[str, float]                  # idf of every term kept in a theme's weights
    k: int
    diagnostics: dict[int, dict[str, float]] = field(default_factory=dict)
    word_weight: float | None = None       # None: fitted on words alone; else concepts + words


def concept_mode(docs: Sequence[ThemeDoc]) -> bool:
    """Whether to fit on glossary concepts: several languages and a glossary that covers
    most articles with enough distinct concepts (else words, as for one language)."""
    n = len(docs)
    languages = Counter(doc.language for doc in docs)
    spread = sum(count >= MIN_LANGUAGE_SHARE * n for count in languages.values()) >= 2
    covered = sum(bool(doc.concepts) for doc in docs) >= MIN_CONCEPT_COVERAGE * n
    distinct = len({c for doc in docs for c in doc.concepts}) >= MIN_CONCEPTS
    return spread and covered and distinct


def fit_themes(docs: Sequence[ThemeDoc], k: int | None = None, *, seed: int = 0) -> ThemeFit | None:
    """Fit themes over `docs` (None when there are too few documents to say anything)."""
    with threadpool_limits(1):   # BLAS threads make NMF's SVD start many times slower on 2 cores
        return _fit(docs, k, seed)


def _fit(docs: Sequence[ThemeDoc], k: int | None, seed: int) -> ThemeFit | None:
    features = _features(docs, WORD_WEIGHT if concept_mode(docs) else None)
    if features is None:
        return None
    matrix, terms, idf, word_weight = features
    nonempty = np.flatnonzero(matrix.getnnz(axis=1))
    if len(nonempty) < 6:
        return None
    rng = np.random.default_rng(seed)
    diagnostics: dict[int, dict[str, float]] = {}
    if k is None:
        k, diagnostics = (choose_k(matrix[nonempty], rng) if word_weight is None else
                          choose_k(matrix[nonempty], rng, subsamples=CONCEPT_SUBSAMPLES,
                                   tolerance=CONCEPT_TOLERANCE, terms=CONCEPT_SELECTION_TERMS))
    k = max(2, min(k, len(nonempty) // 2))
    labels = np.full(matrix.shape[0], -1)
    labels[nonempty] = _partition(matrix[nonempty], k, rng)
    fit = _describe(docs, matrix, labels, k, terms, idf, diagnostics)
    return ThemeFit(themes=fit.themes, idf=fit.idf, k=fit.k, diagnostics=fit.diagnostics,
                    word_weight=word_weight)


def _features(docs: Sequence[ThemeDoc], word_weight: float | None
              ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, float | None] | None:
    """TF-IDF rows (L2-normalised), their term names and idf, and the word weight used:
    words alone (None), or the concept block joined with the word block weighted by it."""
    words = make_vectorizer(min_df=2 if len(docs) < 1000 else 3, max_df=0.5, max_features=20_000)
    try:
        matrix = words.fit_transform([doc.tokens for doc in docs])
    except ValueError:   # no term in two documents
        return None
    terms, idf = words.get_feature_names_out(), words.idf_
    if word_weight is None:
        return matrix, terms, idf, None
    concepts = make_vectorizer(min_df=2, max_df=0.5)
    try:
        concept_matrix = concepts.fit_transform([doc.concepts for doc in docs])
    except ValueError:   # no concept in two documents (or in every one)
        return matrix, terms, idf, None
    joined = normalize(sp.hstack([concept_matrix, word_weight * matrix], format="csr"))
    return (joined.astype(np.float32), np.concatenate([concepts.get_feature_names_out(), terms]),
            np.concatenate([concepts.idf_, idf]), word_weight)


def choose_k(matrix: sp.csr_matrix, rng: np.random.Generator, *, subsamples: int = SUBSAMPLES,
             tolerance: float = STABILITY_TOLERANCE, terms: int = SELECTION_TERMS
             ) -> tuple[int, dict[int, dict[str, float]]]:
    """The number of themes by stability, then coherence (see the module docstring)."""
    n = matrix.shape[0]
    sample = matrix[np.sort(rng.choice(n, min(n, SELECTION_SAMPLE), replace=False))]
    frequent = np.argsort(-sample.getnnz(axis=0))[:terms]
    sample = sample[:, np.sort(frequent[sample.getnnz(axis=0)[frequent] >= 2])]
    candidates = [k for k in K_CANDIDATES if k <= max(3, sample.shape[0] // 10)]
    binary = (sample > 0).astype(np.float32).tocsc()
    scores = {k: _stability_and_coherence(sample, binary, k, rng, subsamples) for k in candidates}
    best = max(s["stability"] for s in scores.values())
    near = [k for k, s in scores.items() if s["stability"] >= best - tolerance]
    return max(near, key=lambda k: (scores[k]["coherence"], -k)), scores


def _stability_and_coherence(sample: sp.csr_matrix, binary: sp.csc_matrix, k: int,
                             rng: np.random.Generator, subsamples: int) -> dict[str, float]:
    """Mean pairwise NMI of partitions fitted on 80% subsamples (on the articles two runs
    share), and the NPMI coherence of the first run's themes."""
    n = sample.shape[0]
    runs, coherence = [], 0.0
    for run in range(subsamples):
        part = np.sort(rng.choice(n, int(0.8 * n), replace=False))
        model = _nmf(k, run)
        labels = np.full(n, -1)
        labels[part] = _refine(sample[part], model.fit_transform(sample[part]).argmax(axis=1), k)
        runs.append(labels)
        if run == 0:
            coherence = npmi_coherence(binary, [np.argsort(-row)[:10] for row in model.components_])
    agreement = []
    for a, b in itertools.combinations(runs, 2):
        shared = (a >= 0) & (b >= 0)
        agreement.append(partition_nmi(a[shared], b[shared]))
    return {"stability": float(np.mean(agreement)), "coherence": coherence}


def partition_nmi(a: np.ndarray, b: np.ndarray) -> float:
    """NMI of two labelings (arithmetic mean of entropies, as scikit-learn's default);
    written out because choosing k compares hundreds of pairs and scikit-learn's input
    checks cost more than the arithmetic."""
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1.0)
    joint /= len(a)
    p_a, p_b = joint.sum(axis=1), joint.sum(axis=0)
    nz = joint > 0
    mutual = float((joint[nz] * np.log(joint[nz] / np.outer(p_a, p_b)[nz])).sum())
    entropy = (-(p_a * np.log(p_a)).sum() - (p_b * np.log(p_b)).sum()) / 2
    return 1.0 if entropy <= 0 else max(0.0, min(1.0, mutual / entropy))


def npmi_coherence(binary: sp.csc_matrix, top_terms: Sequence[Sequence[int]]) -> float:
    """Mean normalised PMI of term pairs within each theme's top terms (document co-occurrence)."""
    n = binary.shape[0]
    df = np.asarray(binary.sum(axis=0)).ravel()
    values = []
    for terms in top_terms:
        terms = list(terms)
        sub = binary[:, terms]
        together = (sub.T @ sub).toarray()
        for i in range(len(terms)):
            for j in range(i + 1, len(terms)):
                p_ij = together[i, j] / n
                if p_ij == 0:
                    values.append(-1.0)
                elif p_ij == 1:
                    values.append(1.0)
                else:
                    p_i, p_j = df[terms[i]] / n, df[terms[j]] / n
                    values.append(math.log(p_ij / (p_i * p_j)) / -math.log(p_ij))
    return float(np.mean(values)) if values else 0.0


def _nmf(k: int, seed: int) -> NMF:
    return NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=200, tol=1e-3)


def _partition(matrix: sp.csr_matrix, k: int, rng: np.random.Generator) -> np.ndarray:
    n = matrix.shape[0]
    fit_rows = np.sort(rng.choice(n, FIT_SAMPLE, replace=False)) if n > FIT_SAMPLE else np.arange(n)
    model = _nmf(k, 0).fit(matrix[fit_rows])
    return _refine(matrix, model.transform(matrix).argmax(axis=1), k)


def _refine(matrix: sp.csr_matrix, labels: np.ndarray, k: int, steps: int = 10) -> np.ndarray:
    """Spherical k-means from an NMF partition: each article to its nearest centroid."""
    rows = normalize(matrix)
    for _ in range(steps):
        centroids = normalize(np.asarray((_indicator(labels, k) @ rows).todense()))
        moved = np.asarray(rows @ centroids.T).argmax(axis=1)
        if np.array_equal(moved, labels):
            break
        labels = moved
    return labels


def _indicator(labels: np.ndarray, k: int) -> sp.csr_matrix:
    n = len(labels)
    return sp.csr_matrix((np.ones(n, dtype=np.float32), (labels, np.arange(n))), shape=(k, n))


def _describe(docs: Sequence[ThemeDoc], matrix: sp.csr_matrix, labels: np.ndarray, k: int,
              terms: np.ndarray, idf: np.ndarray, diagnostics: dict) -> ThemeFit:
    assigned = labels >= 0
    rows = normalize(matrix)
    sums = _indicator(labels[assigned], k) @ rows[assigned]
    centroids = normalize(sums).toarray()
    themes = []
    kept_terms: set[int] = set()
    for j in range(k):
        members = np.flatnonzero(labels == j)
        if not len(members):
            continue
        others = np.delete(centroids, j, axis=0).mean(axis=0) if k > 1 else 0.0
        distinctive = np.argsort(-(centroids[j] - others))[:10]
        heavy = np.argsort(-centroids[j])[:STATE_TERMS]
        heavy = heavy[centroids[j][heavy] > 0]
        kept_terms.update(heavy.tolist())
        closeness = np.asarray((rows[members] @ centroids[j]).ravel()).ravel()
        central = members[np.argsort(-closeness, kind="stable")]
        stems = [str(terms[t]) for t in distinctive]
        forms = surface_forms([docs[i] for i in central[:LABEL_SAMPLE]],
                              {t for t in stems if not t.startswith(CONCEPT)})
        themes.append(FittedTheme(
            terms=tuple(display_term(stem, forms) for stem in stems),
            weights={str(terms[t]): round(float(centroids[j][t]), 5) for t in heavy},
            headlines=headlines([docs[i] for i in central]),
            article_ids=tuple(docs[i].id for i in members)))
    themes.sort(key=lambda t: -len(t.article_ids))
    return ThemeFit(themes=tuple(themes), idf={str(terms[t]): float(idf[t]) for t in sorted(kept_terms)},
                    k=k, diagnostics=diagnostics)


_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")


def surface_forms(docs: Sequence[ThemeDoc], stems: set[str]) -> dict[str, str]:
    """The most frequent written form of each stem in the documents' text
    ("социальн" -> "социального"); stems never seen keep no entry."""
    seen: dict[str, Counter] = defaultdict(Counter)
    starts = {stem[:2] for stem in stems}   # a stem begins like its words: skip the rest cheaply
    for doc in docs:
        for word in _WORD.findall(doc.text):
            if word[:2].lower().replace("ё", "е") not in starts:
                continue
            token = _single_token(word, doc.language)
            if token in stems:
                seen[token][word] += 1
    return {stem: counts.most_common(1)[0][0] for stem, counts in seen.items()}


@lru_cache(maxsize=100_000)
def _single_token(word: str, language: str) -> str | None:
    tokens = tokenize(word, language)
    return tokens[0] if len(tokens) == 1 else None


def display_term(term: str, forms: Mapping[str, str]) -> str:
    """A feature as people read it: the concept's name, or the stem's usual word form."""
    if term.startswith(CONCEPT):
        return term[len(CONCEPT):]
    return forms.get(term, term)


def headlines(central: Sequence[ThemeDoc], n: int = 3) -> tuple[str, ...]:
    """`n` titles from members ordered most central first: the most central of each
    language (languages by their count in the theme), then the next most central."""
    languages = Counter(doc.language for doc in central)
    first: dict[str, int] = {}
    for i, doc in enumerate(central):
        first.setdefault(doc.language, i)
    picks = [first[language] for language, _ in languages.most_common(n)]
    picks += [i for i in range(min(len(central), 2 * n)) if i not in picks][:n - len(picks)]
    return tuple(central[i].title for i in picks)


def assign_to_centroids(docs: Sequence[ThemeDoc], centroids: Mapping[str, Mapping[str, float]],
                        idf: Mapping[str, float], word_weight: float | None = None) -> dict[str, str | None]:
    """Theme id per document: the stored centroid most similar to its TF-IDF vector, built
    as in fitting (None when it shares no term with any theme)."""
    if not centroids or not docs:
        return {doc.id: None for doc in docs}
    vocabulary = {term: i for i, term in enumerate(idf)}
    weights = np.array([idf[t] for t in vocabulary], dtype=np.float32)
    words = _tfidf_rows([doc.tokens for doc in docs], vocabulary, weights)
    if word_weight is None:
        matrix = words
    else:
        concepts = _tfidf_rows([doc.concepts for doc in docs], vocabulary, weights)
        matrix = normalize(concepts + word_weight * words)   # the blocks own disjoint columns
    ids = list(centroids)
    center = sp.csr_matrix([[centroids[t].get(term, 0.0) for term in vocabulary] for t in ids])
    similarity = (matrix @ normalize(center).T).toarray()
    best = similarity.argmax(axis=1)
    return {doc.id: (ids[best[r]] if similarity[r, best[r]] > 0 else None) for r, doc in enumerate(docs)}


def _tfidf_rows(token_lists: Sequence[Sequence[str]], vocabulary: Mapping[str, int],
                weights: np.ndarray) -> sp.csr_matrix:
    """L2-normalised sublinear TF-IDF rows, as the fitting vectoriser makes them."""
    rows, cols, values = [], [], []
    for r, tokens in enumerate(token_lists):
        for col, count in Counter(c for c in map(vocabulary.get, tokens) if c is not None).items():
            rows.append(r)
            cols.append(col)
            values.append((1 + math.log(count)) * weights[col])
    return normalize(sp.csr_matrix((values, (rows, cols)), shape=(len(token_lists), len(vocabulary))))


# --- stable ids across refits --------------------------------------------------------------

@dataclass(frozen=True)
class ThemeMatch:
    """How a refit's themes relate to the stored ones."""

    ids: tuple[str, ...]                                  # id of each new theme
    events: tuple[tuple[str, str, tuple[str, ...]], ...]  # (kind, theme_id, related ids)
    retired: tuple[str, ...]                              # stored ids no longer active


def theme_id_for(theme: FittedTheme, taken: set[str]) -> str:
    """A fresh id from the theme's top terms (the same terms give the same id)."""
    base = hashlib.sha1(" ".join(sorted(theme.terms[:10])).encode("utf-8")).hexdigest()
    n = 0
    while (candidate := f"t-{base[:12]}" + (f"-{n}" if n else "")) in taken:
        n += 1
    return candidate


def match_themes(new: Sequence[FittedTheme], old: Mapping[str, Mapping[str, float]], *,
                 taken: set[str] = frozenset(), threshold: float = MATCH_THRESHOLD) -> ThemeMatch:
    """Give each new theme an id, reusing the stored theme it continues.

    One-to-one best pairs (Hungarian on centroid cosine, at least `threshold`) keep the
    old id. A further old theme close to an already matched new one was *merged* into it;
    a further new theme close to an already matched old one was *split* from it. New
    themes left over are *births*; old ones left over are *retirements*."""
    old_ids = list(old)
    similarity = _centroid_cosines([t.weights for t in new], [old[i] for i in old_ids])
    ids: list[str | None] = [None] * len(new)
    matched_old: dict[int, int] = {}
    if similarity.size:
        for i, j in zip(*linear_sum_assignment(-similarity)):
            if similarity[i, j] >= threshold:
                ids[i] = old_ids[j]
                matched_old[j] = i
    events: list[tuple[str, str, tuple[str, ...]]] = []
    taken = set(taken) | set(old_ids)
    retired: list[str] = []
    merged_into: dict[int, list[str]] = {}
    for j, old_id in enumerate(old_ids):
        if j in matched_old:
            continue
        i = int(np.argmax(similarity[:, j])) if len(new) else -1
        if i >= 0 and similarity[i, j] >= threshold and ids[i] is not None:
            merged_into.setdefault(i, []).append(old_id)
        else:
            events.append(("retirement", old_id, ()))
        retired.append(old_id)
    for i, absorbed in merged_into.items():
        events.append(("merge", ids[i], tuple(absorbed)))
    for i, theme in enumerate(new):
        if ids[i] is not None:
            continue
        ids[i] = theme_id_for(theme, taken)
        taken.add(ids[i])
        j = int(np.argmax(similarity[i])) if old_ids else -1
        if j >= 0 and similarity[i, j] >= threshold and j in matched_old:
            events.append(("split", old_ids[j], (ids[i],)))
        else:
            events.append(("birth", ids[i], ()))
    return ThemeMatch(ids=tuple(ids), events=tuple(events), retired=tuple(retired))


def _centroid_cosines(new: Sequence[Mapping[str, float]], old: Sequence[Mapping[str, float]]) -> np.ndarray:
    vocabulary = {t: i for i, t in enumerate(sorted({t for w in [*new, *old] for t in w}))}

    def dense(weights: Sequence[Mapping[str, float]]) -> np.ndarray:
        out = np.zeros((len(weights), len(vocabulary)))
        for r, w in enumerate(weights):
            for term, value in w.items():
                out[r, vocabulary[term]] = value
        return normalize(out) if len(weights) else out

    return dense(new) @ dense(old).T if new and old else np.zeros((len(new), len(old)))
