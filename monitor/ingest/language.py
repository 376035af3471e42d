"""Which language an article is in: the declared one when the text agrees, else detected.

Feeds often declare a default language they never change (WordPress says en-US for a
Russian blog), so a declaration is believed only when py3langid agrees or is unsure.
Traditional and simplified Chinese (zh-TW, zh-CN, zh-Hant, ...) are both `zh`.

The stored confidence is py3langid's normalised probability of the stored code (for a
declared code the text did not contradict strongly enough, the probability of that code).

`detect_languages` scores a whole document's entries at once: py3langid walks its byte
automaton in a Python loop per byte, which was most of ingest's time outside feedparser,
so `_BatchModel` walks the same automaton over all texts together with numpy (one step
per byte position, every text at once) and scores each text exactly as py3langid does
(same features, counts and float32 arithmetic; tests/test_language.py compares them).
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
from collections.abc import Sequence
import tempfile
from array import array
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import py3langid
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
from py3langid.modelio import load_model

SAMPLE_BYTES = 360          # the first 360 UTF-8 bytes decide: plenty, and the detector
                            # walks every byte in Python
SURE = 0.5                  # detector probability above which it overrules a declaration
MIN_LETTERS_TO_OVERRULE = 30
SMALL_BATCH = 8             # fewer texts than this: py3langid's own per-text walk is faster
_LETTERS = re.compile(r"\w", re.UNICODE)
_CODE = re.compile(r"[a-z]{2,3}")
ALIASES = {"iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro", "sh": "sr"}


@dataclass(frozen=True)
class LanguageGuess:
    code: str                # ISO 639-1 where one exists; "und" when unknown
    confidence: float        # detector probability of `code`, 0..1
    source: str              # "declared" or "detected"


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    """py3langid's model, from an uncompressed cache when possible: unpacking the shipped
    LZMA file takes over a second, in every process that detects languages."""
    ptc, pc, classes, nextmove, row, output = _cached_model()
    return LanguageIdentifier(np.asarray(ptc), np.asarray(pc), classes, nextmove, output,
                              norm_probs=True, tk_row=row)


def _cache_file() -> Path:
    model = MODEL_DIR / MODEL_FILE
    stamp = f"{getattr(py3langid, '__version__', '0')}-{model.stat().st_size}-{int(model.stat().st_mtime)}"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "monitor" / f"langid-model-{stamp}.npz"


def _cached_model() -> tuple:
    cache = _cache_file()
    try:
        with np.load(cache, allow_pickle=False) as data:
            return (data["ptc"], data["pc"], data["classes"].tolist(),
                    array(str(data["nextmove_code"]), data["nextmove"].tobytes()),
                    array(str(data["row_code"]), data["row"].tobytes()), data["output"].tolist())
    except (OSError, KeyError, ValueError):
        pass
    ptc, pc, classes, nextmove, row, output = load_model(MODEL_DIR / MODEL_FILE)
    _write_cache(cache, ptc=ptc, pc=pc, classes=np.array(classes), output=np.array(output),
                 nextmove=np.frombuffer(nextmove, dtype=f"u{nextmove.itemsize}"),
                 nextmove_code=np.array(nextmove.typecode),
                 row=np.frombuffer(row, dtype=f"u{row.itemsize}"), row_code=np.array(row.typecode))
    return ptc, pc, classes, nextmove, row, output


def _write_cache(path: Path, **arrays: np.ndarray) -> None:
    """Write atomically; a cache that cannot be written is simply not used."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as tmp:
            np.savez(tmp, **arrays)
        os.replace(tmp.name, path)
    except OSError:
        pass


def language_code(tag: str | None) -> str | None:
    """`en-US` -> `en`, `zh-Hant-TW` -> `zh`, `RU` -> `ru`; None for anything unusable."""
    if not tag:
        return None
    primary = re.split(r"[-_\s]", tag.strip().lower(), maxsplit=1)[0]
    if not _CODE.fullmatch(primary):
        return None
    return ALIASES.get(primary, primary)


def detect_language(text: str, *, declared: str | None = None) -> LanguageGuess:
    """The article's language; see the module docstring for when a declaration wins."""
    return detect_languages([text], [declared])[0]


def detect_languages(texts: Sequence[str], declared: Sequence[str | None]) -> list[LanguageGuess]:
    """`detect_language` of each text with its declared language, scored in one batch."""
    samples = [t.encode("utf-8", "surrogatepass")[:SAMPLE_BYTES].decode("utf-8", "ignore")
               for t in texts]
    scored = [i for i, sample in enumerate(samples) if _LETTERS.search(sample)]
    model = _batch_model() if scored else None
    probabilities = model.probabilities([samples[i] for i in scored]) if model else None
    row_of = {i: row for row, i in enumerate(scored)}
    guesses = []
    for i, (sample, tag) in enumerate(zip(samples, declared)):
        code = language_code(tag)
        if i not in row_of:
            guesses.append(LanguageGuess(code or "und", 0.0, "declared" if code else "detected"))
        else:
            guesses.append(_guess(model, probabilities[row_of[i]], sample, code))
    return guesses


def _guess(model: "_BatchModel", probabilities: np.ndarray, sample: str,
           declared: str | None) -> LanguageGuess:
    best = int(probabilities.argmax())
    code = language_code(model.classes[best]) or "und"
    confidence = round(float(probabilities[best]), 4)
    if declared is None:
        return LanguageGuess(code, confidence, "detected")
    if code == declared:
        return LanguageGuess(declared, confidence, "declared")
    if confidence >= SURE and len(_LETTERS.findall(sample)) >= MIN_LETTERS_TO_OVERRULE:
        return LanguageGuess(code, confidence, "detected")
    column = model.column.get(declared)
    declared_probability = float(probabilities[column]) if column is not None else 0.0
    return LanguageGuess(declared, round(declared_probability, 4), "declared")


@lru_cache(maxsize=1)
def _batch_model() -> "_BatchModel":
    return _BatchModel(_identifier())


def load_detector() -> None:
    """Load the detector now (~0.1 s), e.g. before forking workers, which then share it."""
    _batch_model()


class _BatchModel:
    """py3langid's model (byte automaton + naive Bayes table) applied to many texts at once."""

    def __init__(self, identifier: LanguageIdentifier):
        self.identifier = identifier
        moves = identifier.tk_nextmove
        self.nextmove = np.frombuffer(moves, dtype=f"u{moves.itemsize}")
        self.rowbase = np.asarray(identifier.tk_row, dtype=np.int64) << 8
        self.output = np.asarray(identifier.tk_output, dtype=np.int64)
        # float32 once (+57 MB, shared by forked workers): py3langid's float32 @ float16
        # product casts the rows it gathers on every call; the values and sums are the same.
        self.table = np.asarray(identifier.nb_ptc, dtype=np.float32)
        self.prior = identifier.nb_pc
        self.classes = list(identifier.nb_classes)
        self.column: dict[str, int] = {}
        self.aliases: list[tuple[int, int]] = []   # (first column, duplicate) of one label
        for i, label in enumerate(self.classes):
            if label in self.column:
                self.aliases.append((self.column[label], i))
            else:
                self.column[label] = i

    @staticmethod
    def encode(text: str) -> bytes:
        """The bytes py3langid scores: upper-case text lowered, NFC, UTF-8."""
        if text.isupper():
            text = text.lower()
        return unicodedata.normalize("NFC", text).encode("utf-8", "surrogatepass")

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """(texts x classes) probabilities, as py3langid's normalised scores."""
        if len(texts) < SMALL_BATCH:
            return np.stack([self._ranked(t) for t in texts])
        encoded = [self.encode(t) for t in texts]
        features, order = self._walk(encoded)
        scores = np.zeros((len(texts), len(self.classes)), dtype=np.float32)
        for row, (weights, table) in zip(order.tolist(), self._scored(features)):
            if len(weights):   # else no features at all: all languages alike, as in py3langid
                scores[row] = weights @ table + self.prior
        return self._normalised(scores, [len(e) for e in encoded])

    def _ranked(self, text: str) -> np.ndarray:
        """One text through py3langid itself (its rank: one probability per label)."""
        scores = np.zeros(len(self.classes), dtype=np.float32)
        for label, probability in self.identifier.rank(text):
            scores[self.column[label]] = probability
        return scores

    def _walk(self, encoded: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """Feature id (-1 for none) at each byte of each text, longest text first, and the
        text index of each row. All texts advance one byte per numpy step."""
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        order = np.argsort(-lengths, kind="stable")
        width = int(lengths.max())
        grid = np.zeros((width, len(encoded)), dtype=np.int64)   # byte position x text
        for column, i in enumerate(order):
            grid[:lengths[i], column] = np.frombuffer(encoded[i], dtype=np.uint8)
        running = np.searchsorted(-lengths[order], -np.arange(width), side="left")
        states = np.zeros(len(encoded), dtype=np.int64)
        features = np.full((width, len(encoded)), -1, dtype=np.int64)
        for position, alive in enumerate(running.tolist()):
            moved = self.nextmove[self.rowbase[states[:alive]] + grid[position, :alive]]
            states[:alive] = moved
            features[position, :alive] = self.output[moved]
        return features.T, order

    def _scored(self, features: np.ndarray):
        """Per text (row): log1p of each feature's count and the feature's table rows, in
        order of first occurrence, as py3langid's Counter gives them."""
        rows, positions = np.nonzero(features >= 0)
        keys = rows * len(self.table) + features[rows, positions]
        unique, first, counts = np.unique(keys, return_index=True, return_counts=True)
        by_occurrence = np.argsort(first, kind="stable")
        unique, counts = unique[by_occurrence], counts[by_occurrence]
        text_of, feature = np.divmod(unique, len(self.table))
        weights = np.log1p(counts.astype(np.float32))
        table = self.table[feature]
        bounds = np.searchsorted(text_of, np.arange(features.shape[0] + 1))
        for start, end in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            yield weights[start:end], table[start:end]

    def _normalised(self, scores: np.ndarray, lengths: list[int]) -> np.ndarray:
        """py3langid's softmax with its temperature (sqrt of the byte length), per row;
        a label with two columns (script variants) gets their sum in the first."""
        scores *= np.array([1.0 / math.sqrt(n or 1) for n in lengths], dtype=np.float32)[:, None]
        np.exp(scores - scores.max(axis=1, keepdims=True), out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        for first, duplicate in self.aliases:
            scores[:, first] += scores[:, duplicate]
            scores[:, duplicate] = 0.0
        return scores
