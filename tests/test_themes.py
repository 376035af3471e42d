"""Themes: NMF with k chosen by stability, labels, stable ids across refits, the job."""

from __future__ import annotations

import csv
import hashlib
import random
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sklearn.metrics import normalized_mutual_info_score

from monitor.analyze.jobs import themes as themes_job
from monitor.analyze.text import TOKENIZER_VERSION, tokenize
from monitor.analyze.themes import FittedTheme, ThemeDoc, fit_themes, match_themes
from monitor.config import parse_settings
from monitor.store import grouping, open_engine
from monitor.store.schema import articles, theme_events, themes

SUBJECTS = {
    "blacklist": "blacklist court debtor travel ban train ticket flight dishonest judgment enforcement".split(),
    "corporate": "company firm rating foreign chamber compliance business license tax regulator".split(),
    "privacy": "data privacy surveillance camera algorithm platform personal information leak app".split(),
}
FILLER = "china government system report year official public new says week".split()


def _corpus(per_subject: int, seed: int = 1, start: int = 0) -> list[tuple[str, str, list[str]]]:
    """(id, subject, tokens): each article mostly its subject's words plus common filler."""
    rng = random.Random(seed)
    out = []
    for subject, words in SUBJECTS.items():
        for n in range(start, start + per_subject):
            tokens = rng.choices(words, k=14) + rng.choices(FILLER, k=8)
            out.append((f"{subject}-{n}", subject, tokens))
    return out


def _docs(corpus) -> list[ThemeDoc]:
    return [ThemeDoc(id=i, title=" ".join(t[:5]), tokens=tuple(t)) for i, _, t in corpus]


def _partition(fit) -> dict[str, int]:
    return {a: j for j, t in enumerate(fit.themes) for a in t.article_ids}


def test_three_subjects_give_three_labelled_themes():
    corpus = _corpus(40)
    fit = fit_themes(_docs(corpus))
    assert fit.k == 3
    assert set(fit.diagnostics) == set(range(3, 11)) - {k for k in range(3, 11) if k > 12}
    found = _partition(fit)
    assert normalized_mutual_info_score([s for _, s, _ in corpus], [found[i] for i, _, _ in corpus]) == 1.0
    for theme in fit.themes:
        subject = theme.article_ids[0].split("-")[0]
        assert set(theme.terms[:4]) <= set(SUBJECTS[subject])
        assert len(theme.headlines) == 3 and theme.label.count(" · ") == 3


def test_the_number_of_themes_can_be_set():
    assert fit_themes(_docs(_corpus(40)), 4).k == 4


def test_too_few_articles_give_no_model():
    assert fit_themes(_docs(_corpus(1))) is None


def _theme(weights: dict[str, float], name: str) -> FittedTheme:
    return FittedTheme(terms=(name,), weights=weights, headlines=(), article_ids=())


A = {"court": 0.8, "debtor": 0.6}
B = {"company": 0.8, "rating": 0.6}
C = {"privacy": 0.8, "camera": 0.6}


def test_matching_keeps_ids_and_reports_births_and_retirements():
    match = match_themes([_theme(B, "b"), _theme(C, "c")], {"t-a": A, "t-b": B})
    assert match.ids[0] == "t-b"
    assert match.ids[1] not in {"t-a", "t-b"}
    assert set(match.events) == {("birth", match.ids[1], ()), ("retirement", "t-a", ())}
    assert match.retired == ("t-a",)


def test_matching_reports_merges_and_splits():
    merged = match_themes([_theme({**A, **B}, "ab")], {"t-a": A, "t-b": B})
    assert len(merged.ids) == 1 and merged.ids[0] in {"t-a", "t-b"}
    other = ({"t-a", "t-b"} - {merged.ids[0]}).pop()
    assert merged.events == (("merge", merged.ids[0], (other,)),) and merged.retired == (other,)

    split = match_themes([_theme(A, "a"), _theme({"court": 0.5, "flight": 0.8}, "a2")], {"t-a": A})
    assert split.ids[0] == "t-a"
    assert split.events == (("split", "t-a", (split.ids[1],)),)


# --- the job, through a real database --------------------------------------------------------

SETTINGS = parse_settings("topic: {name: test}\n")
T0 = datetime(2021, 3, 1, tzinfo=timezone.utc)


def _insert(engine, corpus, group="western"):
    rows = [{"id": i, "url": f"https://example.org/{i}", "title": " ".join(t[:5]), "summary": "",
             "published_at": T0 + timedelta(days=n % 60), "fetched_at": T0, "language": "en",
             "group_name": group, "relevant": True, "tokens": t, "tokens_version": TOKENIZER_VERSION}
            for n, (i, _, t) in enumerate(corpus)]
    with engine.begin() as conn:
        conn.execute(articles.insert(), rows)


def _theme_of(engine) -> dict[str, str | None]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(articles.c.id, articles.c.theme_id)).all())


def test_job_keeps_theme_ids_across_refits(db_url):
    engine = open_engine(db_url)
    _insert(engine, _corpus(40))
    counts = themes_job.run(engine, SETTINGS)
    assert counts["refit"] and counts["k"] == 3 and counts["births"] == 3
    first = _theme_of(engine)
    blacklist_theme = first["blacklist-0"]
    assert {first[f"blacklist-{n}"] for n in range(40)} == {blacklist_theme}

    _insert(engine, _corpus(5, seed=2, start=100))   # 12% more: placed, not refitted
    counts = themes_job.run(engine, SETTINGS)
    assert counts == {"refit": False, "k": 3, "articles": 15}
    assert _theme_of(engine)["blacklist-100"] == blacklist_theme

    counts = themes_job.run(engine, SETTINGS, full=True)
    assert counts["refit"] and counts["births"] == 0 and counts["retirements"] == 0
    assert _theme_of(engine)["blacklist-0"] == blacklist_theme
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(sa.select(themes))}
        events = conn.execute(sa.select(theme_events.c.kind)).scalars().all()
        prevalence = grouping.theme_prevalence(conn, period="month", by_group=True)
    assert len(rows) == 3 and all(r.status == "active" for r in rows.values())
    assert rows[blacklist_theme].size == 45 and "blacklist" in rows[blacklist_theme].terms
    assert events == ["birth"] * 3
    march = [p for p in prevalence if p["period"] == "2021-03" and p["theme_id"] == blacklist_theme]
    assert march and 0 < march[0]["share"] < 1 and march[0]["group"] == "western"


def test_job_retires_themes_when_the_corpus_changes(db_url):
    engine = open_engine(db_url)
    _insert(engine, [c for c in _corpus(40) if c[1] != "privacy"])
    themes_job.run(engine, parse_settings("topic: {name: test}\nanalysis: {themes: 2}\n"))
    with engine.begin() as conn:
        conn.execute(articles.update().where(articles.c.id.like("corporate-%")).values(relevant=False))
    _insert(engine, [c for c in _corpus(40, seed=3, start=200) if c[1] == "privacy"])
    themes_job.run(engine, parse_settings("topic: {name: test}\nanalysis: {themes: 2}\n"), full=True)
    with engine.connect() as conn:
        status = dict(conn.execute(sa.select(themes.c.label, themes.c.status)).all())
        kinds = sorted(conn.execute(sa.select(theme_events.c.kind)).scalars())
    assert sorted(status.values()) == ["active", "active", "retired"]
    assert kinds == ["birth", "birth", "birth", "retirement"]


# --- quality on real labelled data -----------------------------------------------------------

@pytest.mark.shared
def test_bbc_sample_themes_match_the_classes(shared_data):
    """All 2,127 distinct articles of BBC News (~10 s); k chosen automatically.

    A plain baseline (NMF, k=5 given) scores NMI 0.86. Samples of a few hundred articles
    are too small for a stable choice of k, hence the whole set."""
    root = shared_data / "bbc_news_5class"
    with open(root / "labels.tsv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    seen, docs, gold = set(), [], []
    for row in rows:
        body = (root / row["path"]).read_bytes()
        digest = hashlib.md5(body).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        text = body.decode("utf-8", errors="replace")
        docs.append(ThemeDoc(id=digest, title=text.splitlines()[0], tokens=tuple(tokenize(text, "en"))))
        gold.append(row["label"])
    fit = fit_themes(docs)
    found = _partition(fit)
    assert fit.k == 5
    assert normalized_mutual_info_score(gold, [found.get(d.id, -1) for d in docs]) >= 0.85
