"""Exact and near-duplicate detection.

Exact: the same article id (see normalize.article_id) or the same canonical URL is one
article, stored once and linked to every feed that carried it.

Near: syndicated wire copies and lightly edited reposts have different ids but nearly the
same text. Each article gets a 64-value MinHash signature of its word 3-shingles, or of
character 3-shingles for Chinese and Japanese, which have no spaces. A banded LSH index
over the originals of a time window finds candidates without comparing all pairs; a candidate whose estimated Jaccard similarity is at least SIMILARITY makes the
newcomer `duplicate_of` it. Only originals are indexed, so every duplicate points at the
first copy seen. Signatures are stored with the article (articles.minhash, 64 little-endian
uint32) so later runs compare against earlier ones.

The signature is computed with numpy rather than MinHash.update: shingles are hashed as a
vector and permuted with 64 multiply-shift hash functions, which is ~10x faster per
article. The LSH index is a few dicts of our own over those signatures (21 bands of 3
values, what datasketch's MinHashLSH chooses for LSH_THRESHOLD at 64 permutations, so the
candidates are the same): importing datasketch pulls in scipy, over a second of start-up
in every ingest, and its per-band hashing cost more than the rest of near-dedup.
Changing SEED, NUM_PERM or the hashing makes stored signatures incomparable: bump
SIGNATURE_VERSION and the loader ignores old ones.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

NUM_PERM = 64
SEED = 20240601
SIGNATURE_VERSION = 1
# Lightly edited wire copies (a changed headline word, a trimmed or added sentence) measure
# 0.5-0.8 on word 3-shingles; two outlets' own reports of one event stay under 0.2.
SIMILARITY = 0.5
# The LSH index is tuned lower than SIMILARITY so that it proposes nearly every pair at the
# threshold (MinHash estimates vary by ~0.06 at 64 permutations); the exact check below
# discards the extra candidates.
LSH_THRESHOLD = 0.35
# Bands x rows of the LSH index: the split of NUM_PERM that minimises false positives plus
# false negatives around LSH_THRESHOLD (a pair at 0.5 shares a band with probability 0.94,
# one at 0.2 with 0.16).
BANDS, ROWS = 21, 3
SHINGLE = 3
MIN_SHINGLES = 8          # shorter texts (a bare headline) match too easily to judge
WINDOW = timedelta(days=7)

_WORD = re.compile(r"\w+", re.UNICODE)
_rng = np.random.default_rng(SEED)
_A = _rng.integers(1, 2**63, NUM_PERM, dtype=np.uint64) | np.uint64(1)   # odd multipliers
_B = _rng.integers(0, 2**63, NUM_PERM, dtype=np.uint64)
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9], dtype=np.uint64)
_HEADER = bytes([SIGNATURE_VERSION])


@dataclass(frozen=True)
class NearDuplicate:
    original_id: str
    similarity: float


def _tokens(text: str, language: str) -> np.ndarray:
    """A stable 32-bit hash per token: words, or letters for Chinese and Japanese."""
    if language in ("zh", "ja"):
        return np.fromiter((ord(c) for c in "".join(_WORD.findall(text.lower()))), dtype=np.uint64)
    return np.fromiter((zlib.crc32(w.encode("utf-8", "surrogatepass"))
                        for w in _WORD.findall(text.lower())), dtype=np.uint64)


def shingle_hashes(text: str, language: str) -> np.ndarray:
    """Distinct 64-bit hashes of the text's 3-shingles (see module docstring)."""
    tokens = _tokens(text, language)
    if len(tokens) < SHINGLE:
        return np.empty(0, dtype=np.uint64)
    count = len(tokens) - SHINGLE + 1
    # Integer arrays wrap around silently (the point here), so no np.errstate is needed.
    mixed = tokens[:count] * _MIX[0]
    for i in range(1, SHINGLE):
        mixed += tokens[i:i + count] * _MIX[i]
    mixed ^= mixed >> np.uint64(29)
    return np.unique(mixed)


def signature(text: str, language: str) -> np.ndarray | None:
    """The MinHash signature (NUM_PERM uint32), or None when too short to compare fairly."""
    hashes = shingle_hashes(text, language)
    if len(hashes) < MIN_SHINGLES:
        return None
    permuted = hashes[:, None] * _A
    permuted += _B
    permuted >>= np.uint64(32)
    return permuted.min(axis=0).astype(np.uint32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of the shingle sets behind two signatures."""
    return float(np.count_nonzero(a == b)) / NUM_PERM


def signature_bytes(sig: np.ndarray) -> bytes:
    return _HEADER + sig.astype("<u4").tobytes()


def signature_from_bytes(blob: bytes | None) -> np.ndarray | None:
    """A stored signature, or None if absent or written by another signature version."""
    if not blob or blob[:1] != _HEADER or len(blob) != 1 + 4 * NUM_PERM:
        return None
    return np.frombuffer(blob, dtype="<u4", offset=1).astype(np.uint32)


class NearDuplicateIndex:
    """An in-memory LSH index of original articles' signatures, by publication time.

    `missing_spans`/`mark_loaded` track which span of publication times has been loaded
    from the database, so a long run loads each part of history once.
    """

    def __init__(self, *, threshold: float = SIMILARITY, window: timedelta = WINDOW):
        self.threshold = threshold
        self.window = window
        self._bands: list[dict[bytes, set[str]]] = [{} for _ in range(BANDS)]
        self._entries: dict[str, tuple[datetime, np.ndarray]] = {}
        self.loaded: tuple[datetime, datetime] | None = None

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def _band_keys(sig: np.ndarray) -> list[bytes]:
        raw = sig.astype("<u4", copy=False).tobytes()
        width = 4 * ROWS
        return [raw[i * width:(i + 1) * width] for i in range(BANDS)]

    def add(self, article_id: str, published_at: datetime, sig: np.ndarray) -> None:
        if article_id not in self._entries:
            self._entries[article_id] = (published_at, sig)
            for band, key in zip(self._bands, self._band_keys(sig)):
                band.setdefault(key, set()).add(article_id)

    def published_of(self, article_id: str) -> datetime:
        return self._entries[article_id][0]

    def clear(self) -> None:
        """Forget everything; the next use reloads from the database."""
        self._entries.clear()
        self._bands = [{} for _ in range(BANDS)]
        self.loaded = None

    def remove(self, article_ids: Iterable[str]) -> None:
        for article_id in article_ids:
            entry = self._entries.pop(article_id, None)
            if entry is None:
                continue
            for band, key in zip(self._bands, self._band_keys(entry[1])):
                holders = band.get(key)
                if holders is not None:
                    holders.discard(article_id)
                    if not holders:
                        del band[key]

    def _candidates(self, sig: np.ndarray) -> set[str]:
        found: set[str] = set()
        for band, key in zip(self._bands, self._band_keys(sig)):
            holders = band.get(key)
            if holders:
                found.update(holders)
        return found

    def matches(self, sig: np.ndarray, published_at: datetime) -> list[NearDuplicate]:
        """Every indexed article within the window similar enough, most similar first."""
        found = []
        for candidate in self._candidates(sig):
            when, other = self._entries[candidate]
            if abs(when - published_at) > self.window:
                continue
            score = similarity(sig, other)
            if score >= self.threshold:
                found.append(NearDuplicate(candidate, round(score, 4)))
        return sorted(found, key=lambda m: (-m.similarity, m.original_id))

    def find(self, sig: np.ndarray, published_at: datetime) -> NearDuplicate | None:
        """The most similar indexed article within the window, if similar enough."""
        found = self.matches(sig, published_at)
        return found[0] if found else None

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
