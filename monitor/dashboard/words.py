"""Stems back into words for display: 'compani' reads 'companies', 'социальн' 'социальный'.

Theme terms and distinctive terms are stems (analysis.text stems English and Russian),
which users should not have to decode. Each stem is shown as the word that most often
produced it in a sample of the articles behind it; a stem no word produced (Chinese words
are not stemmed) stays as it is.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable

from monitor.analyze.text import tokenize

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_PREFIX = 3   # a stem and its words share their first letters (Snowball trims endings)


def surface_forms(stems: Iterable[str], texts: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Stem -> its most frequent word in `texts` ((text, language) pairs), lower-cased."""
    wanted = {stem for stem in stems if stem}
    prefixes = {stem[:_PREFIX] for stem in wanted}
    stem_of: dict[tuple[str, str], str | None] = {}
    words: dict[str, Counter] = defaultdict(Counter)
    for text, language in texts:
        for word in _WORD.findall((text or "").lower()):
            if word[:_PREFIX] not in prefixes or _CJK.search(word):
                continue   # only words that could stem to a wanted term; Chinese is not stemmed
            key = (word, language)
            if key not in stem_of:
                tokens = tokenize(word, language)
                stem_of[key] = tokens[0] if len(tokens) == 1 else None
            if stem_of[key] in wanted:
                words[stem_of[key]][word] += 1
    # A stem that is itself a word in the texts ('law', 'score') stays as it is.
    return {stem: stem if counted[stem] else counted.most_common(1)[0][0] for stem, counted in words.items()}


def readable(term: str, forms: dict[str, str]) -> str:
    """A term (one stem, or stems joined by spaces) with every stem replaced by its word."""
    return " ".join(forms.get(part, part) for part in term.split(" "))


def readable_label(label: str, forms: dict[str, str], separator: str = " · ") -> str:
    """A theme label made of terms joined by `separator`, in words."""
    return separator.join(readable(part, forms) for part in label.split(separator))
