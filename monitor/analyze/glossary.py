"""The topic's concept glossary compiled to token phrases: one concept feature per phrase
found in an article's tokens, whatever the article's language.

Stories use the features to carry one event across languages, themes to fit topics that
span languages. Matching runs on the relevance job's cached tokens, so phrases are made
the way those tokens were: stems for English and Russian, jieba words for Chinese.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from monitor.analyze.text import add_zh_words, has_cjk, stem_phrase, stop_word_set

CONCEPT = "c:"   # the prefix of a concept feature: c:<concept>
_ZH_WORD = re.compile("[\u4e00-\u9fd5]+")   # the Han range jieba segments into words


class Glossary:
    """Glossary phrases by their first token, and the Chinese terms jieba must keep whole."""

    def __init__(self, glossary: Mapping[str, Mapping[str, Sequence[str]]]):
        by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        self._zh_terms: list[str] = []   # the Chinese terms met so far, for jieba
        for concept, terms_by_language in glossary.items():
            for language, terms in terms_by_language.items():
                if language == "zh":
                    self._zh_terms += terms
                for term in terms:
                    phrase = self._phrase(term, language)
                    if phrase:
                        by_first.setdefault(phrase[0], []).append((phrase, CONCEPT + concept))
        self._by_first = by_first

    def _phrase(self, term: str, language: str) -> tuple[str, ...]:
        """The term's tokens. A Chinese word is one token once jieba knows it (add_zh_words
        gives it a frequency no split of it can beat), so it is taken whole without loading
        jieba (a second per run); any other term with CJK characters is segmented by jieba,
        after the Chinese terms met so far, as they all were added before."""
        word = term.strip()
        if language == "zh" and _ZH_WORD.fullmatch(word) and word not in stop_word_set("zh"):
            return (word,)
        if has_cjk(term):
            self.teach_segmenter()
        return stem_phrase(term, language)

    def teach_segmenter(self) -> None:
        """Add the glossary's Chinese terms to jieba's words: call before tokenizing Chinese
        text whose tokens must match the glossary's (the relevance job did, for cached tokens)."""
        add_zh_words(self._zh_terms)

    def concepts(self, tokens: Sequence[str]) -> list[str]:
        """A concept feature (`c:<concept>`) per glossary phrase occurrence in `tokens`."""
        by_first = self._by_first
        found: list[str] = []
        # Positions first (one pass in a comprehension), phrases only where one starts.
        for i in [i for i, token in enumerate(tokens) if token in by_first]:
            for phrase, concept in by_first[tokens[i]]:
                if len(phrase) == 1 or tuple(tokens[i:i + len(phrase)]) == phrase:
                    found.append(concept)
        return found
