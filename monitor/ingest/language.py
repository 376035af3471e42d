"""Which language an article is in: the declared one when the text agrees, else detected.

Feeds often declare a default language they never change (WordPress says en-US for a
Russian blog), so a declaration is believed only when py3langid agrees or is unsure.
Traditional and simplified Chinese (zh-TW, zh-CN, zh-Hant, ...) are both `zh`.
"""

from __future__ import annotations

import os
import re
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
    declared = language_code(declared)
    sample = text.encode("utf-8", "surrogatepass")[:SAMPLE_BYTES].decode("utf-8", "ignore")
    letters = len(_LETTERS.findall(sample))
    if letters == 0:
        return LanguageGuess(declared or "und", 0.0, "declared" if declared else "detected")
    code, confidence = _identifier().classify(sample)
    code = language_code(code) or "und"
    if declared is None:
        return LanguageGuess(code, round(confidence, 4), "detected")
    if code == declared:
        return LanguageGuess(declared, round(confidence, 4), "declared")
    if confidence >= SURE and letters >= MIN_LETTERS_TO_OVERRULE:
        return LanguageGuess(code, round(confidence, 4), "detected")
    declared_probability = dict(_identifier().rank(sample)).get(declared, 0.0)
    return LanguageGuess(declared, round(float(declared_probability), 4), "declared")
