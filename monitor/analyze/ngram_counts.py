"""Bulk n-gram counting for the relevance classifier's two TF-IDF branches.

scikit-learn's vectorizers build every document's n-gram strings and look each one up in
Python, which was most of the prediction time on a large corpus. The counters here give
the same matrices (tested value for value) with each token or word looked up once per
batch and the rest done with numpy: word unigrams and bigrams of token lists, and char_wb
n-grams memoised per distinct word. Only public settings of the fitted vectorizers are
read; any setting the counters do not reproduce exactly falls back to the vectorizer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.analyze.text import _NgramAnalyzer


def _count_matrix(rows: Any, columns: Any, shape: tuple[int, int], dtype: Any) -> Any:
    """A count matrix in the form a vectorizer returns: CSR, duplicates summed, indices sorted."""
    import numpy as np
    import scipy.sparse as sp

    # Built transposed and turned back, which orders each row's columns by counting (the
    # rows come in order), instead of sorting every row's columns.
    by_column = sp.csr_matrix((np.ones(len(rows), dtype=np.int32), (columns, rows)),
                              shape=(shape[1], shape[0]))
    counts = by_column.tocsc().T
    counts.sum_duplicates()
    counts.sort_indices()
    return counts.astype(dtype)


class WordNgramCounter:
    """The term counts of the fitted words vectorizer (unigrams and bigrams of token lists),
    computed for a whole batch at once.

    Each token is looked up once in a dict of the tokens the vocabulary knows; a bigram is
    then a pair of token numbers, found with numpy in a sorted array. The result equals the
    vectorizer's own count matrix, which scikit-learn builds by joining and looking up every
    bigram string of every document in Python.
    """

    def __init__(self, vectorizer: Any, pairs: list[tuple[str, str, int]], unigrams: dict[str, int]):
        import numpy as np

        self.vectorizer = vectorizer
        self.token_ids: dict[str, int] = {}
        for first, second, _ in pairs:
            self.token_ids.setdefault(first, len(self.token_ids))
            self.token_ids.setdefault(second, len(self.token_ids))
        for token in unigrams:
            self.token_ids.setdefault(token, len(self.token_ids))
        self.unknown = len(self.token_ids)   # the number of every token the vocabulary lacks
        self.unigram = np.full(self.unknown + 1, -1, dtype=np.int32)
        for token, feature in unigrams.items():
            self.unigram[self.token_ids[token]] = feature
        keys = np.array([self._pair_key(self.token_ids[a], self.token_ids[b]) for a, b, _ in pairs],
                        dtype=np.int64)
        order = np.argsort(keys)
        self.pair_keys = keys[order]
        self.pair_features = np.array([f for _, _, f in pairs], dtype=np.int32)[order]

    def _pair_key(self, first: Any, second: Any) -> Any:
        return first * (self.unknown + 1) + second

    def counts(self, documents: Sequence[Sequence[str]]) -> Any:
        """The count matrix, or None when a token has a space (it could equal a bigram)."""
        from itertools import chain, repeat

        import numpy as np

        tokens = list(chain.from_iterable(documents))
        if " " in "".join(tokens):
            return None
        ids = np.fromiter(map(self.token_ids.get, tokens, repeat(self.unknown)), dtype=np.int64,
                          count=len(tokens))
        rows = np.repeat(np.arange(len(documents), dtype=np.int32), [len(d) for d in documents])
        unigrams = self.unigram[ids]
        found = unigrams >= 0
        # Consecutive tokens of one document whose tokens both occur in the vocabulary.
        candidates = (rows[1:] == rows[:-1]) & (ids[1:] < self.unknown) & (ids[:-1] < self.unknown)
        keys = self._pair_key(ids[:-1][candidates], ids[1:][candidates])
        at = np.minimum(np.searchsorted(self.pair_keys, keys), max(len(self.pair_keys) - 1, 0))
        paired = self.pair_keys[at] == keys if len(self.pair_keys) else np.zeros(len(keys), bool)
        return _count_matrix(np.concatenate([rows[found], rows[:-1][candidates][paired]]),
                             np.concatenate([unigrams[found], self.pair_features[at[paired]]]),
                             (len(documents), len(self.vectorizer.vocabulary_)), self.vectorizer.dtype)

    def transform(self, documents: Sequence[Sequence[str]]) -> Any:
        """What vectorizer.transform(documents) returns (same values, same positions)."""
        counts = self.counts(documents)
        if counts is None:
            return self.vectorizer.transform(documents)
        return _tfidf_of_counts(self.vectorizer, counts)


def _tfidf_of_counts(vectorizer: Any, counts: Any) -> Any:
    """The fitted TfidfVectorizer's weighting of a count matrix, from its public settings and
    `idf_`: sublinear tf, times idf, then the norm, as its transform applies them in turn."""
    import numpy as np
    from sklearn.preprocessing import normalize

    weighted = counts.astype(vectorizer.dtype, copy=True)
    if vectorizer.sublinear_tf:
        np.log(weighted.data, out=weighted.data)
        weighted.data += 1.0
    if vectorizer.use_idf:
        weighted.data *= vectorizer.idf_[weighted.indices]
    return normalize(weighted, norm=vectorizer.norm, copy=False) if vectorizer.norm else weighted


def _fitted_tfidf(vectorizer: Any) -> bool:
    return hasattr(vectorizer, "vocabulary_") and (not vectorizer.use_idf or hasattr(vectorizer, "idf_"))


def word_counter(vectorizer: Any) -> WordNgramCounter | None:
    """A WordNgramCounter for a fitted (1, 2)-gram vectorizer over token lists, or None
    when its settings are ones the shortcut does not reproduce exactly."""
    analyzer = getattr(vectorizer, "analyzer", None)
    if not (isinstance(analyzer, _NgramAnalyzer) and tuple(analyzer.ngram_range) == (1, 2)
            and not vectorizer.binary and vectorizer.input == "content"
            and _fitted_tfidf(vectorizer)):
        return None
    pairs: list[tuple[str, str, int]] = []
    unigrams: dict[str, int] = {}
    for term, feature in vectorizer.vocabulary_.items():
        parts = term.split(" ")
        if len(parts) == 1:
            unigrams[term] = feature
        elif len(parts) == 2:
            pairs.append((parts[0], parts[1], feature))
        else:   # tokens with spaces in the training data: no shortcut
            return None
    return WordNgramCounter(vectorizer, pairs, unigrams)


class CharNgramCounter:
    """The term counts of a fitted char_wb vectorizer, computed per distinct word.

    char_wb n-grams never cross words, so a document's counts are the sum of its words'
    counts, with each word's in-vocabulary n-grams found once and memoised (in flat arrays,
    so a batch gathers its words' n-grams with numpy). The result equals the vectorizer's
    own count matrix, which scikit-learn builds by generating and looking up every n-gram of
    every document in Python (most of the prediction time on a large corpus).
    """

    MAX_WORDS = 500_000   # memo bound; beyond it the memo restarts

    def __init__(self, vectorizer: Any):
        self.vectorizer = vectorizer
        self.low, self.high = vectorizer.ngram_range
        self._forget()

    def _forget(self) -> None:
        import numpy as np

        self.word_ids: dict[str, int] = {}
        # int32 where values allow: a batch gathers millions of n-grams
        self.grams = np.zeros(0, dtype=np.int32)    # every memoised word's n-grams, in a row
        self.starts = np.zeros(0, dtype=np.int64)   # where each word's n-grams start in it
        self.lengths = np.zeros(0, dtype=np.int64)  # and how many it has

    def _grams(self, word: str) -> list[int]:
        # As sklearn's _char_wb_ngrams: pad with spaces; a word shorter than n counts once.
        in_vocabulary = self.vectorizer.vocabulary_.get
        padded = f" {word} "
        found = []
        for n in range(self.low, self.high + 1):
            last = len(padded) - n   # the offset of the last n-gram
            grams = [padded[i:i + n] for i in range(max(last, 0) + 1)]
            found += [j for j in map(in_vocabulary, grams) if j is not None]
            if last <= 0:
                break
        return found

    def _memoise(self, words: Iterable[str]) -> None:
        import numpy as np

        grams = [self._grams(w) for w in words]
        for word in words:
            self.word_ids[word] = len(self.word_ids)
        lengths = np.array([len(g) for g in grams], dtype=np.int64)
        self.starts = np.concatenate([self.starts, len(self.grams) + np.cumsum(lengths) - lengths])
        self.lengths = np.concatenate([self.lengths, lengths])
        self.grams = np.concatenate([self.grams, np.array([j for g in grams for j in g], dtype=np.int32)])

    def counts(self, documents: Sequence[str]) -> Any:
        import numpy as np

        lower = self.vectorizer.lowercase
        split = [(d.lower() if lower else d).split() for d in documents]
        words = [w for ws in split for w in ws]
        new = [w for w in dict.fromkeys(words) if w not in self.word_ids]
        if len(self.word_ids) + len(new) > self.MAX_WORDS:
            self._forget()
            new = list(dict.fromkeys(words))
        self._memoise(new)
        ids = np.fromiter(map(self.word_ids.__getitem__, words), dtype=np.int64, count=len(words))
        lengths = self.lengths[ids]
        # Each word occurrence contributes its n-grams to its document's row.
        rows = np.repeat(np.repeat(np.arange(len(documents), dtype=np.int32), [len(ws) for ws in split]),
                         lengths)
        first = np.repeat(self.starts[ids] - (np.cumsum(lengths) - lengths), lengths)
        columns = self.grams[first + np.arange(len(first))]
        return _count_matrix(rows, columns, (len(documents), len(self.vectorizer.vocabulary_)),
                             self.vectorizer.dtype)

    def transform(self, documents: Sequence[str]) -> Any:
        """What vectorizer.transform(documents) returns (same values, same positions)."""
        return _tfidf_of_counts(self.vectorizer, self.counts(documents))


def char_counter(vectorizer: Any) -> CharNgramCounter | None:
    """A CharNgramCounter for a fitted char_wb TfidfVectorizer, or None when its settings
    are ones the shortcut does not reproduce exactly."""
    plain = (getattr(vectorizer, "analyzer", None) == "char_wb" and vectorizer.preprocessor is None
             and vectorizer.strip_accents is None and vectorizer.input == "content"
             and not vectorizer.binary and _fitted_tfidf(vectorizer))
    return CharNgramCounter(vectorizer) if plain else None


@dataclass(frozen=True)
class _Shortcuts:
    """The bulk counters of one fitted pipeline of build_pipeline's shape."""

    words: WordNgramCounter
    chars: CharNgramCounter


def _shortcuts(pipeline: Any) -> _Shortcuts | None:
    """Bulk counters for both branches of the pipeline, or None when it has another shape."""
    try:
        union = pipeline.named_steps["features"]
        branches = dict(union.transformer_list)
        words = word_counter(branches["words"].named_steps["tfidf"])
        chars = char_counter(branches["chars"].named_steps["tfidf"])
    except (AttributeError, KeyError, TypeError):
        return None
    if words is None or chars is None or union.transformer_weights or len(branches) != 2:
        return None
    return _Shortcuts(words, chars)


def predict_proba(pipeline: Any, docs: list[dict], counters: dict[str, Any]) -> Any:
    """pipeline.predict_proba(docs), with the features counted by the shortcuts above when
    the pipeline has the shape build_pipeline gives it (`counters` keeps them between calls)."""
    entry = counters.get("last")
    if entry is None or entry[0] is not pipeline:   # another model: start new memos
        entry = counters["last"] = (pipeline, _shortcuts(pipeline))
    shortcuts = entry[1]
    if shortcuts is None:
        return pipeline.predict_proba(docs)
    import scipy.sparse as sp

    union = pipeline.named_steps["features"]
    branches = dict(union.transformer_list)
    computed = {"words": shortcuts.words.transform(branches["words"].named_steps["select"].transform(docs)),
                "chars": shortcuts.chars.transform(branches["chars"].named_steps["select"].transform(docs))}
    # FeatureUnion stacks its branches in order, as a CSR matrix.
    blocks = [computed[name] for name, _ in union.transformer_list]
    return pipeline.named_steps["classifier"].predict_proba(sp.hstack(blocks).tocsr())
