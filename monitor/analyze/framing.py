"""Codebook scoring: how strongly an article carries each frame, from its indicator terms.

Terms and text go through the same normalisation (monitor.analyze.text: stems for en/ru,
jieba words for zh), so a term matches inflected forms and multi-word terms match as
phrases. A term right after a negation ("not a surveillance tool", "并非监控") does not
count; it is kept in the evidence marked "not …" so a reader sees why. Scores are
length-normalised: a long article needs more matches than a short one to score as high.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.analyze.codebook import Codebook
from monitor.analyze.text import add_zh_words, phrase_positions, stem_phrase, tokenize
from monitor.models import FrameScore

# Negation cues per script. Stop-word removal drops "not"/"не", so cues are found in the
# raw text and the tokens after them (up to NEGATION_SCOPE) are treated as negated.
_NEGATION = re.compile(
    r"\b(?:not|no|never|nor|without|n't|isn't|aren't|wasn't|weren't|doesn't|don't|didn't)\b"
    r"|(?<![\w])(?:не|нет|ни|никогда|без)(?![\w])"
    r"|并非|绝非|不是|并不|没有|从未|不存在|不会|并无",
    re.IGNORECASE)
NEGATION_SCOPE = 4            # tokens after a cue that it negates
_CLAUSE = re.compile(r"[.!?;:。！？；：\n]+|,\s*(?:but|however|но|однако)\b|，")
REFERENCE_LENGTH = 60          # tokens; at or below this length no length penalty applies
REPEAT_DECAY = 0.5             # the 2nd match of a term counts 0.5, the 3rd 0.25, ...


@dataclass(frozen=True)
class CompiledFrame:
    id: str
    phrases: dict[str, tuple[tuple[tuple[str, ...], str], ...]]   # language -> (stems, term)


def compile_codebook(codebook: Codebook) -> list[CompiledFrame]:
    """Stem every term once; Chinese terms are taught to jieba so they stay whole."""
    add_zh_words(t for f in codebook.frames for t in f.terms.get("zh", ()))
    compiled = []
    for frame in codebook.frames:
        phrases = {}
        for language, terms in frame.terms.items():
            stems = [(stem_phrase(term, language), term) for term in terms]
            phrases[language] = tuple((s, t) for s, t in stems if s)
        compiled.append(CompiledFrame(frame.id, phrases))
    return compiled


def negated_tokens(text: str, language: str) -> tuple[list[str], set[int]]:
    """Tokens of `text` and the positions that fall in a negation's scope.

    Each clause is cut at its negation cues; the first tokens after a cue are negated.
    """
    tokens: list[str] = []
    negated: set[int] = set()
    for clause in _CLAUSE.split(text):
        pieces = _NEGATION.split(clause)
        for index, piece in enumerate(pieces):
            piece_tokens = tokenize(piece, language)
            if index > 0:
                negated.update(range(len(tokens), len(tokens) + min(NEGATION_SCOPE, len(piece_tokens))))
            tokens.extend(piece_tokens)
    return tokens, negated


def _term_weight(hits: int) -> float:
    return sum(REPEAT_DECAY ** i for i in range(hits))


def score_tokens(tokens: Sequence[str], negated: set[int], frames: list[CompiledFrame],
                 language: str, *, article_id: str = "", min_score: float = 0.2) -> list[FrameScore]:
    """One FrameScore per frame: 1 - exp(-weighted matches / length factor), in 0..1.

    Terms of every language are tried (a Chinese quote in an English article still counts),
    the article's own language first.
    """
    length_factor = math.sqrt(max(1.0, len(tokens) / REFERENCE_LENGTH))
    scores = []
    for frame in frames:
        weight, evidence = 0.0, []
        seen: set[tuple[str, ...]] = set()
        for lang in sorted(frame.phrases, key=lambda lang: lang != language):
            for stems, term in frame.phrases[lang]:
                if stems in seen:
                    continue
                seen.add(stems)
                starts = phrase_positions(tokens, stems)
                kept = [s for s in starts if s not in negated]
                if kept:
                    weight += _term_weight(len(kept))
                    evidence.append(term)
                elif starts:
                    evidence.append(f"not {term}")
        score = 1.0 - math.exp(-weight / length_factor)
        scores.append(FrameScore(article_id=article_id, frame=frame.id, score=round(score, 4),
                                 present=score >= min_score, source="codebook",
                                 evidence=tuple(evidence)))
    return scores


def score_text(text: str, language: str, frames: list[CompiledFrame], *, article_id: str = "",
               min_score: float = 0.2) -> list[FrameScore]:
    """Score a title + text against compiled frames."""
    tokens, negated = negated_tokens(text, language)
    return score_tokens(tokens, negated, frames, language, article_id=article_id, min_score=min_score)
