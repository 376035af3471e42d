"""Which language an article is in: the declared one when the text agrees, else detected.

Feeds often declare a default language they never change (WordPress says en-US for a
Russian blog), so a declaration is believed only when py3langid agrees or is unsure.
Traditional and simplified Chinese (zh-TW, zh-CN, zh-Hant, ...) are both `zh`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

MAX_CHARS = 2000            # the first 2,000 characters decide; enough and bounded
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
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


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
    sample = text[:MAX_CHARS]
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
