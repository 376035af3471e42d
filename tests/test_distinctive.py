"""Log-odds ratio with an informative Dirichlet prior (Monroe et al. 2008)."""

from __future__ import annotations

from monitor.analyze.distinctive import distinctive_terms, log_odds_dirichlet


def test_words_typical_of_each_side_rank_first():
    a = [["law", "court", "regulation", "credit"]] * 20 + [["credit", "system"]] * 10
    b = [["surveillance", "camera", "credit"]] * 20 + [["credit", "system"]] * 10
    rising, falling = distinctive_terms(a, b, top=3)
    assert {t.term for t in rising} == {"law", "court", "regulation"}
    assert {t.term for t in falling[:2]} == {"surveillance", "camera"}
    assert all(t.term != "credit" for t in rising)   # shared words are not distinctive


def test_prior_shrinks_rare_words():
    a = {"rare": 2, "common": 200, "filler": 800}
    b = {"common": 100, "filler": 900}
    ranked = {t.term: t for t in log_odds_dirichlet(a, b, min_count=1)}
    # "rare" has an infinite raw ratio but only 2 observations; "common" is better attested.
    assert ranked["common"].z > ranked["rare"].z > 0


def test_min_count_and_empty_inputs():
    assert log_odds_dirichlet({"x": 1}, {"y": 1}, min_count=3) == []
    assert log_odds_dirichlet({}, {"y": 5}) == []
