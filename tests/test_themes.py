"""Themes: NMF with k chosen by stability, labels, stable ids across refits, the job."""

from __future__ import annotations

import csv
import hashlib
import random
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import sqlalchemy as sa
from sklearn.metrics import normalized_mutual_info_score

from monitor.analyze.jobs import themes as themes_job
from monitor.analyze.text import TOKENIZER_VERSION, add_zh_words, tokenize
from monitor.analyze.glossary import Glossary
from monitor.analyze.themes import (FittedTheme, ThemeDoc, concept_mode, display_term, fit_themes, headlines,
                                    match_themes, partition_nmi, surface_forms)
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


def test_partition_nmi_agrees_with_scikit_learn():
    rng = random.Random(5)
    for _ in range(50):
        a = [rng.randrange(rng.randint(1, 5)) for _ in range(40)]
        b = [rng.randrange(rng.randint(1, 5)) for _ in range(40)]
        assert partition_nmi(np.array(a), np.array(b)) == pytest.approx(normalized_mutual_info_score(a, b), abs=1e-9)


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


# --- several languages: themes on glossary concepts ------------------------------------------

# Per subject, four concepts with their word in en, ru and zh.
CONCEPTS = {
    "blacklist": [("blacklist", "черносписок", "黑名单"), ("court", "суд", "法院"),
                  ("flight", "самолет", "飞机"), ("debtor", "должник", "老赖")],
    "corporate": [("company", "компания", "企业"), ("rating", "рейтинг", "评级"),
                  ("foreign", "иностранец", "外资"), ("chamber", "палата", "商会")],
    "privacy": [("privacy", "приватность", "隐私"), ("camera", "камера", "摄像头"),
                ("algorithm", "алгоритм", "算法"), ("platform", "платформа", "平台")],
}
LANGUAGES = ("en", "ru", "zh")
LANGUAGE_FILLER = {"en": "china government report year official week".split(),
                   "ru": "китай правительство доклад год чиновник неделя".split(),
                   "zh": "中国 政府 报告 今年 官员 本周".split()}
GLOSSARY_YAML = "topic:\n  name: test\n  glossary:\n" + "".join(
    f"    {terms[0]} concept: {{en: [{terms[0]}], ru: [{terms[1]}], zh: [{terms[2]}]}}\n"
    for concepts in CONCEPTS.values() for terms in concepts)


def _multilingual(per_cell: int, seed: int = 1, start: int = 0) -> list[tuple[str, str, str, str]]:
    """(id, subject, language, text): each subject in each language, its concepts' words
    in that language (so no word is shared across languages) plus common filler."""
    add_zh_words(terms[2] for concepts in CONCEPTS.values() for terms in concepts)   # as relevance does
    rng = random.Random(seed)
    out = []
    for subject, concepts in CONCEPTS.items():
        for li, language in enumerate(LANGUAGES):
            for n in range(start, start + per_cell):
                words = [terms[li] for terms in rng.choices(concepts, k=8)] + rng.choices(LANGUAGE_FILLER[language], k=5)
                out.append((f"{subject}-{language}-{n}", subject, language, " ".join(words)))
    return out


def _concept_docs(corpus, glossary) -> list[ThemeDoc]:
    docs = []
    for i, _, language, text in corpus:
        tokens = tuple(tokenize(text, language))
        docs.append(ThemeDoc(id=i, title=text[:30], tokens=tokens, language=language,
                             concepts=tuple(glossary.concepts(tokens)), text=text))
    return docs


def test_a_multilingual_corpus_gives_themes_that_span_languages():
    corpus = _multilingual(15)
    glossary = Glossary(parse_settings(GLOSSARY_YAML).topic.glossary)
    docs = _concept_docs(corpus, glossary)
    assert concept_mode(docs)
    fit = fit_themes(docs)
    assert fit.k == 3 and fit.word_weight is not None
    found = _partition(fit)
    assert normalized_mutual_info_score([s for _, s, _, _ in corpus], [found[i] for i, *_ in corpus]) == 1.0
    for theme in fit.themes:
        subject = theme.article_ids[0].split("-")[0]
        assert {a.split("-")[1] for a in theme.article_ids} == set(LANGUAGES)
        # labels are concept names; headlines come from three languages
        assert set(theme.terms[:4]) == {f"{terms[0]} concept" for terms in CONCEPTS[subject]}
        assert {doc.language for doc in docs if doc.title in theme.headlines} == set(LANGUAGES)

    # Without concepts the same corpus is fitted on words alone.
    words_only = [ThemeDoc(id=d.id, title=d.title, tokens=d.tokens, language=d.language) for d in docs]
    assert not concept_mode(words_only) and fit_themes(words_only).word_weight is None


def test_concept_mode_needs_several_languages_and_a_covering_glossary():
    concepts = tuple(f"c:{n}" for n in range(12))
    docs = [ThemeDoc(id=str(n), title="", tokens=(), language=("en", "ru")[n % 2], concepts=concepts[n % 12:][:2])
            for n in range(40)]
    assert concept_mode(docs)
    assert not concept_mode([ThemeDoc(id=d.id, title="", tokens=(), language="en", concepts=d.concepts) for d in docs])
    few = [ThemeDoc(id=d.id, title="", tokens=(), language=d.language, concepts=d.concepts if n < 20 else ())
           for n, d in enumerate(docs)]
    assert not concept_mode(few)   # half the articles mention no concept
    narrow = [ThemeDoc(id=d.id, title="", tokens=(), language=d.language, concepts=("c:0",)) for d in docs]
    assert not concept_mode(narrow)   # one concept is no vocabulary


def test_labels_show_words_not_stems():
    docs = [ThemeDoc(id="1", title="", tokens=(), language="ru",
                     text="Системы социального кредита: социального рейтинга и социальный контроль"),
            ThemeDoc(id="2", title="", tokens=(), language="en", text="Blacklisted firms; blacklists grow")]
    forms = surface_forms(docs, {"социальн", "систем", "blacklist"})
    assert forms == {"социальн": "социального", "систем": "Системы", "blacklist": "Blacklisted"}
    assert display_term("социальн", forms) == "социального"
    assert display_term("c:travel bans", forms) == "travel bans"
    assert display_term("信用", forms) == "信用"


def test_headlines_cover_the_languages_of_a_theme():
    central = [ThemeDoc(id=str(n), title=f"{language}{n}", tokens=(), language=language)
               for n, language in enumerate(["en", "en", "en", "ru", "en", "zh", "ru"])]
    assert headlines(central) == ("en0", "ru3", "zh5")
    assert headlines(central[:3]) == ("en0", "en1", "en2")


def test_job_fits_multilingual_themes_and_places_new_articles_by_concept(db_url):
    engine = open_engine(db_url)
    settings = parse_settings(GLOSSARY_YAML)
    corpus = _multilingual(15)
    for language in LANGUAGES:
        _insert(engine, [(i, s, tuple(tokenize(text, lang))) for i, s, lang, text in corpus if lang == language],
                group=f"group-{language}", language=language)
    counts = themes_job.run(engine, settings)
    assert counts["refit"] and counts["k"] == 3
    theme_of = _theme_of(engine)
    privacy = theme_of["privacy-en-0"]
    assert {theme_of[f"privacy-{language}-{n}"] for language in LANGUAGES for n in range(15)} == {privacy}
    with engine.connect() as conn:
        labels = {t["id"]: t["label"] for t in grouping.load_themes(conn)}
        prevalence = grouping.theme_prevalence(conn, period="month", by_group=True)
    assert "camera concept" in labels[privacy]
    per_group = {}
    for row in prevalence:
        if row["theme_id"] == privacy:
            per_group[row["group"]] = per_group.get(row["group"], 0) + row["articles"]
    assert per_group == {"group-en": 15, "group-ru": 15, "group-zh": 15}   # one theme, every source group

    # A new Russian article on cameras and algorithms joins the privacy theme between refits.
    new = [("ru-new", "privacy", ("камера", "алгоритм", "камера", "китай"))]
    _insert(engine, new, language="ru")
    assert themes_job.run(engine, settings) == {"refit": False, "k": 3, "articles": 1}
    assert _theme_of(engine)["ru-new"] == privacy


# --- the job, through a real database --------------------------------------------------------

SETTINGS = parse_settings("topic: {name: test}\n")
T0 = datetime(2021, 3, 1, tzinfo=timezone.utc)


def _insert(engine, corpus, group="western", language="en"):
    rows = [{"id": i, "url": f"https://example.org/{i}", "title": " ".join(t[:5]), "summary": "",
             "published_at": T0 + timedelta(days=n % 60), "fetched_at": T0, "language": language,
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
