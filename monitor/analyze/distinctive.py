"""Distinctive terms between two corpora: log-odds ratio with an informative Dirichlet prior.

Monroe, Colaresi and Quinn (2008), "Fightin' Words", section 3.5: the prior is the
background frequency of each word (by default both corpora together) scaled to
`prior_strength` pseudo-counts, which shrinks rare words towards zero so the list is not
dominated by words seen twice. Words are ranked by the z-score of their log-odds ratio.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class DistinctiveTerm:
    term: str
    z: float              # > 0: typical of corpus A; < 0: typical of corpus B
    log_odds: float
    count_a: int
    count_b: int


def count_terms(documents: Iterable[Iterable[str]]) -> Counter:
    """Token counts over documents (lists of tokens)."""
    counts: Counter = Counter()
    for tokens in documents:
        counts.update(tokens)
    return counts


def log_odds_dirichlet(counts_a: Mapping[str, int], counts_b: Mapping[str, int], *,
                       background: Mapping[str, int] | None = None, prior_strength: float = 500.0,
                       min_count: int = 3) -> list[DistinctiveTerm]:
    """Every word seen at least `min_count` times in A and B together, by z-score (A first)."""
    if background is None:
        background = Counter(counts_a) + Counter(counts_b)
    bg_total = sum(background.values())
    n_a, n_b = sum(counts_a.values()), sum(counts_b.values())
    if bg_total == 0 or n_a == 0 or n_b == 0:
        return []
    alpha0 = prior_strength
    terms = []
    for word in set(counts_a) | set(counts_b):
        y_a, y_b = counts_a.get(word, 0), counts_b.get(word, 0)
        if y_a + y_b < min_count:
            continue
        # Words absent from a given background still get a small prior.
        alpha = alpha0 * max(background.get(word, 0), 0.5) / bg_total
        delta = (math.log((y_a + alpha) / (n_a + alpha0 - y_a - alpha))
                 - math.log((y_b + alpha) / (n_b + alpha0 - y_b - alpha)))
        variance = 1.0 / (y_a + alpha) + 1.0 / (y_b + alpha)
        terms.append(DistinctiveTerm(word, delta / math.sqrt(variance), delta, y_a, y_b))
    return sorted(terms, key=lambda t: -t.z)


def distinctive_terms(docs_a: Iterable[Iterable[str]], docs_b: Iterable[Iterable[str]], *,
                      top: int = 20, **options) -> tuple[list[DistinctiveTerm], list[DistinctiveTerm]]:
    """The `top` terms most typical of A and of B (e.g. this month vs last, state vs Western)."""
    ranked = log_odds_dirichlet(count_terms(docs_a), count_terms(docs_b), **options)
    rising = [t for t in ranked if t.z > 0][:top]
    falling = [t for t in reversed(ranked) if t.z < 0][:top]
    return rising, falling
