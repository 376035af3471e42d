"""Exact and near-duplicate detection.

Exact: the same article id (see normalize.article_id) or the same canonical URL is one
article, stored once and linked to every feed that carried it.

Near: syndicated wire copies and lightly edited reposts have different ids but nearly the
same text. Each article gets a MinHash signature (64 permutations) of its word 3-shingles,
or character 3-shingles for Chinese, which has no spaces; an LSH index over the articles of
a time window finds candidates without comparing all pairs. A candidate at or above
SIMILARITY (estimated Jaccard) makes the newcomer `duplicate_of` it. Only originals are
indexed, so every duplicate points at the first copy seen. Signatures are stored with the
article (articles.minhash) so later runs compare against earlier ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from datasketch import MinHash, MinHashLSH

NUM_PERM = 64
SEED = 1
SCHEME = "affine32"       # pinned: stored signatures must stay comparable across versions
SIMILARITY = 0.7
SHINGLE = 3
MIN_SHINGLES = 8          # shorter texts (a bare headline) match too easily to judge
WINDOW = timedelta(days=7)

_WORD = re.compile(r"\w+", re.UNICODE)
_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)


@dataclass(frozen=True)
class NearDuplicate:
    original_id: str
    similarity: float


def shingles(text: str, language: str) -> set[bytes]:
    """Word 3-grams, or character 3-grams (over letters only) for Chinese and Japanese."""
    if language in ("zh", "ja"):
        chars = "".join(_WORD.findall(text.lower()))
        grams = {chars[i:i + SHINGLE] for i in range(len(chars) - SHINGLE + 1)}
    else:
        words = _WORD.findall(text.lower())
        grams = {" ".join(words[i:i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}
    return {g.encode("utf-8", "surrogatepass") for g in grams}


def signature(text: str, language: str) -> MinHash | None:
    """The MinHash of a text, or None when it is too short to compare fairly."""
    grams = shingles(text, language)
    if len(grams) < MIN_SHINGLES:
        return None
    minhash = _new_minhash()
    minhash.update_batch(list(grams))
    return minhash


def _new_minhash(hashvalues: np.ndarray | None = None) -> MinHash:
    # Reusing the template's permutations avoids regenerating them for every article.
    return MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME, hashvalues=hashvalues,
                   permutations=_TEMPLATE.permutations)


def signature_bytes(minhash: MinHash) -> bytes:
    return minhash.hashvalues.astype("<u4").tobytes()


def signature_from_bytes(blob: bytes) -> MinHash | None:
    values = np.frombuffer(blob, dtype="<u4")
    if len(values) != NUM_PERM:
        return None     # written by another configuration: not comparable
    return _new_minhash(values.astype(np.uint32))


class NearDuplicateIndex:
    """An in-memory LSH index of original articles' signatures, by publication time.

    `covers`/`mark_loaded` track which span of publication times has been loaded from the
    database, so a long run loads each part of history once.
    """

    def __init__(self, *, similarity: float = SIMILARITY, window: timedelta = WINDOW):
        self.similarity = similarity
        self.window = window
        self._lsh = MinHashLSH(threshold=similarity, num_perm=NUM_PERM)
        self._entries: dict[str, tuple[datetime, MinHash]] = {}
        self.loaded: tuple[datetime, datetime] | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, article_id: str, published_at: datetime, minhash: MinHash) -> None:
        if article_id not in self._entries:
            self._entries[article_id] = (published_at, minhash)
            self._lsh.insert(article_id, minhash, check_duplication=False)

    def remove(self, article_ids: Iterable[str]) -> None:
        for article_id in article_ids:
            if self._entries.pop(article_id, None) is not None:
                self._lsh.remove(article_id)

    def find(self, minhash: MinHash, published_at: datetime) -> NearDuplicate | None:
        """The most similar indexed article within the window, if similar enough."""
        best: NearDuplicate | None = None
        for candidate in self._lsh.query(minhash):
            when, other = self._entries[candidate]
            if abs(when - published_at) > self.window:
                continue
            similarity = float(minhash.jaccard(other))
            if similarity >= self.similarity and (
                    best is None or similarity > best.similarity
                    or (similarity == best.similarity and candidate < best.original_id)):
                best = NearDuplicate(candidate, round(similarity, 4))
        return best

    def missing_spans(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Parts of [start - window, end + window] not loaded yet."""
        lo, hi = start - self.window, end + self.window
        if self.loaded is None:
            return [(lo, hi)]
        spans = []
        if lo < self.loaded[0]:
            spans.append((lo, self.loaded[0]))
        if hi > self.loaded[1]:
            spans.append((self.loaded[1], hi))
        return spans

    def mark_loaded(self, start: datetime, end: datetime) -> None:
        lo, hi = start - self.window, end + self.window
        self.loaded = (lo, hi) if self.loaded is None else (min(lo, self.loaded[0]),
                                                            max(hi, self.loaded[1]))
