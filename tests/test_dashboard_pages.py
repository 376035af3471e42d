"""Every dashboard page, run with AppTest on the known database of dashboard_fixtures.

The numbers asserted here are worked out by hand from dashboard_fixtures.ARTICLES: the
default window is the year up to 2026-11-26 (the newest relevant article), "this week"
is 2026-11-20 .. 2026-11-26 and the week before 2026-11-13 .. 2026-11-19.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from dashboard_fixtures import XSS_TITLE, build_dashboard_db
from monitor.cli.setup import starter_config
from monitor.store import views
from monitor.store.schema import annotations, models

APP = str(Path(__file__).resolve().parent.parent / "monitor" / "dashboard" / "app.py")


@pytest.fixture(scope="module")
def dashboard_db(tmp_path_factory) -> str:
    """The fixture database, and the environment `monitor dashboard` would give the app."""
    folder = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{folder / 'monitor.db'}"
    build_dashboard_db(url)
    (folder / "feeds.yaml").write_text(starter_config(), encoding="utf-8")
    saved = {k: os.environ.get(k) for k in ("MONITOR_DB_URL", "MONITOR_CONFIG", "USER")}
    os.environ.update(MONITOR_DB_URL=url, MONITOR_CONFIG=str(folder / "feeds.yaml"), USER="tester")
    yield url
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def open_page(page: str | None = None, **params: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    for key, value in params.items():
        app.query_params[key] = value
    if page:
        app.switch_page(f"app_pages/{page}.py")
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def table(app: AppTest, *columns: str):
    """The first table on the page having all these columns."""
    return next(frame.value for frame in app.dataframe if set(columns) <= set(frame.value.columns))


def test_overview_shows_this_week_against_the_week_before(dashboard_db):
    app = open_page()
    shown = {m.label: (m.value, m.delta) for m in app.metric}
    assert shown == {"Articles": ("5", "+150%"), "Outlets": ("4", "+100%"), "Languages": ("3", "+50%"),
                     "Stories": ("2", "+100%"), "New stories": ("2", "+100%")}
    assert "2026-11-20 to 2026-11-26" in app.caption[0].value
    assert app.warning[0].value == "1 feed(s) failing: see Sources."
    stories = table(app, "headline", "outlets")
    assert stories["headline"].tolist() == ["Draft Social Credit Law published for comment",
                                            "What the draft law means for foreign firms"]
    assert stories[["outlets", "languages", "articles"]].values.tolist() == [[3, 3, 3], [2, 1, 2]]
    shifts = table(app, "frame", "baseline_share")
    assert shifts["frame"].tolist() == ["law", "integrity"]
    assert app.query_params["from"] == "2025-11-26" and app.query_params["to"] == "2026-11-26"
    assert len(app.get("vega_lite_chart")) == 1


def test_filters_come_from_the_url_and_apply(dashboard_db):
    app = open_page(lang="zh", period="week")
    assert app.multiselect(key="f_languages").value == ["zh"]
    shown = {m.label: m.value for m in app.metric}
    assert shown["Articles"] == "1" and shown["Outlets"] == "1"    # a2 this week, in Chinese
    assert app.query_params["lang"] == "zh" and app.query_params["period"] == "week"
    app.multiselect(key="f_languages").set_value(["ru"]).run()
    assert {m.label: m.value for m in app.metric}["Articles"] == "1"   # a3
    assert app.query_params["lang"] == "ru"


def test_stories_page_shows_one_event_across_outlets_and_frames(dashboard_db):
    app = open_page("stories")
    assert table(app, "headline", "outlets")["id"].tolist() == ["s1", "s3", "s2", "s4", "s5"]
    assert {m.label: m.value for m in app.metric} == {"Articles": "3", "Outlets": "3", "Languages": "3"}
    articles = table(app, "title", "duplicate_of")
    assert sorted(articles["id"]) == ["a1", "a2", "a3", "a6"]
    mix = table(app, "outlet_articles")
    law = mix[mix["frame"] == "law"].set_index("outlet")["share"].to_dict()
    assert law == {"Global Wire": 1.0, "华夏日报": 1.0, "Вести": 1.0}
    assert mix[mix["frame"] == "surveillance"]["outlet"].tolist() == ["Вести"]
    assert app.query_params["story"] == "s1"


def test_stories_page_opens_the_story_named_in_the_url(dashboard_db):
    app = open_page("stories", story="s3")
    assert app.selectbox(key="story_choice").value == "s3"
    assert sorted(table(app, "title", "duplicate_of")["id"]) == ["b1", "b2"]


def test_themes_page_lists_prevalence_groups_and_events(dashboard_db):
    app = open_page("themes")
    themes = table(app, "window_articles")
    assert themes[["id", "window_articles"]].values.tolist() == [["t1", 5], ["t2", 3]]
    assert [t.value for t in app.text][:3] == ["Blacklist travel ban figures released", "失信被执行人名单更新",
                                               "Draft Social Credit Law published for comment"]
    events = table(app, "kind", "related")
    assert events["kind"].tolist() == ["merge", "birth", "birth"]
    assert events["related"].tolist()[0] == "t0"
    assert len(app.get("vega_lite_chart")) == 2


def test_framing_page_shows_shares_with_intervals_and_shift_evidence(dashboard_db):
    app = open_page("framing")
    shares = table(app, "carried", "scored")
    november = shares[(shares["frame"] == "law") & (shares["period"] == "2026-11-01")].iloc[0]
    assert (november["carried"], november["scored"]) == (4, 7)   # a1-a4 of a1-a5, b1, b2
    assert november["low"] < 4 / 7 < november["high"]
    shifts = table(app, "frame", "baseline_share")
    assert shifts["frame"].tolist() == ["law", "integrity"]
    assert sorted(table(app, "title", "url")["id"]) == ["a1", "a2", "a3"]
    assert len(app.get("vega_lite_chart")) == 2   # shares, and the later half against the earlier
    terms = table(app, "term", "z").set_index("term")
    assert terms.loc["draft", "z"] > 0 and terms.loc["draft", "count_b"] == 0   # new in the second half


def test_framing_page_compares_two_groups(dashboard_db):
    app = open_page("framing")
    app.radio(key="framing_compare").set_value("two groups").run()
    app.selectbox(key="framing_group_a").set_value("western").run()
    app.selectbox(key="framing_group_b").set_value("think-tank").run()
    assert not app.exception
    terms = table(app, "term", "z").set_index("term")
    assert terms.loc["firms", "z"] < 0 and terms.loc["firms", "count_b"] == 4   # think-tank's word
    assert terms.loc["firms", "count_a"] == 0
    assert len(app.get("vega_lite_chart")) == 2


def test_sources_page_lists_outlets_and_failing_feeds_first(dashboard_db):
    app = open_page("sources")
    outlets = table(app, "outlet", "stories").set_index("outlet")["articles"].to_dict()
    assert outlets == {"Global Wire": 3, "华夏日报": 2, "Вести": 2, "Policy Lab": 2}
    feeds = table(app, "consecutive_failures")
    assert feeds["name"].tolist()[0] == "broken"
    assert feeds["consecutive_failures"].tolist()[0] == 3
    assert len(feeds) == 5


def test_articles_page_searches_titles_and_summaries(dashboard_db):
    app = open_page("articles", q="draft")
    found = table(app, "relevance_score", "story_id")
    assert sorted(found["id"]) == ["a1", "a4"]
    assert "2 articles match" in app.caption[0].value
    app.text_input(key="article_query").set_value("СОЦИАЛЬНЫЙ").run()   # Cyrillic, any case
    assert table(app, "relevance_score", "story_id")["id"].tolist() == ["c2"]


def test_articles_page_shows_markup_as_text_and_no_unsafe_link(dashboard_db):
    app = open_page("articles", article="a5")
    assert app.selectbox(key="article_choice").value == "a5"
    found = table(app, "relevance_score", "story_id")
    assert pd.isna(found.set_index("id").loc["a5", "url"])         # javascript: is not a link
    assert found.set_index("id").loc["a5", "title"] == XSS_TITLE   # shown as text in the cell
    heading = app.subheader[0].value
    assert "\\<script\\>" in heading and "<script>" not in heading
    assert len(app.get("link_button")) == 0
    facts = table(app, "field").set_index("field")["value"].to_dict()
    assert facts["story"] == "What the draft law means for foreign firms"
    assert facts["theme"] == "foreign firms · corporate credit"
    assert facts["why"] == "matched: social credit"
    frames = table(app, "evidence")
    assert frames["frame"].tolist() == ["Surveillance and control"]


def test_annotate_page_saves_a_label_with_its_annotator(dashboard_db):
    app = open_page("annotate")
    assert {m.label: m.value for m in app.metric}["Annotator"] == "tester"
    chosen = app.selectbox(key="annotate_choice").value
    app.radio(key="answer_relevance").set_value("not relevant")
    app.button[0].click().run()   # the form's submit button
    assert not app.exception
    engine = sa.create_engine(dashboard_db)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(annotations))]
    engine.dispose()
    assert [(r["article_id"], r["kind"], r["value"], r["annotator"]) for r in rows] == \
        [(chosen, "relevance", {"relevant": False}, "tester")]
    assert {m.label: m.value for m in app.metric}["Relevance labels"] == "1"
    models = table(app, "model", "F1")
    assert models["model"].tolist() == ["relevance"] and models["F1"].tolist() == [0.91]


def test_retraining_from_labels_shows_the_new_cross_validated_quality(dashboard_db, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'labels.db'}"
    build_dashboard_db(url)
    monkeypatch.setenv("MONITOR_DB_URL", url)
    engine = sa.create_engine(url)

    def label(ids: str, relevant: bool) -> None:
        with engine.begin() as conn:
            for article_id in ids.split():
                views.add_annotation(conn, article_id, "relevance", {"relevant": relevant}, "tester")

    label("a1 a2 a3", True)
    label("a7 d1", False)
    app = open_page("annotate")
    app.button(key="retrain").click().run()
    assert "cannot retrain the relevance classifier" in app.error[0].value   # too few labels, said plainly
    label("a4 a5 b1", True)
    label("b2 c1 c2 a6", False)
    app.button(key="retrain").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert app.success[0].value == "Retrained relevance."
    retrained = [t.value for t in app.dataframe if "examples" in t.value.columns][-1]   # below the old list
    assert retrained["model"].tolist() == ["relevance"] and retrained["examples"].tolist() == [12]
    with engine.connect() as conn:
        stored = conn.execute(sa.select(models.c.metrics).where(models.c.name == "relevance")).scalar_one()
    engine.dispose()
    assert stored["examples"] == 12 and stored["cross_validated"]["all"]["n"] == 12


def test_with_oidc_configured_nothing_shows_before_login(dashboard_db):
    app = AppTest.from_file(APP, default_timeout=60)
    app.secrets["auth"] = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "s",
                           "client_id": "c", "client_secret": "x",
                           "server_metadata_url": "https://id.example/.well-known/openid-configuration"}
    app.run()
    assert not app.exception
    assert [b.label for b in app.button] == ["Log in"]
    assert len(app.metric) == 0 and len(app.dataframe) == 0


@pytest.mark.parametrize("page", [None, "stories", "themes", "framing", "sources", "articles", "annotate"])
def test_every_page_works_on_a_new_empty_database(dashboard_db, tmp_path, monkeypatch, page):
    monkeypatch.setenv("MONITOR_DB_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    app = open_page(page)   # asserts no exception
    assert len(app.info) >= 1   # says there is nothing yet rather than showing empty charts


def test_pages_read_postgresql_too(dashboard_db, pg_url, monkeypatch):
    build_dashboard_db(pg_url)
    monkeypatch.setenv("MONITOR_DB_URL", pg_url)
    shown = {m.label: (m.value, m.delta) for m in open_page().metric}
    assert shown["Articles"] == ("5", "+150%") and shown["New stories"] == ("2", "+100%")
    found = table(open_page("articles", q="социальный"), "relevance_score", "story_id")
    assert found["id"].tolist() == ["c2"]   # ILIKE folds Cyrillic case on PostgreSQL
    shares = table(open_page("framing"), "carried", "scored")
    november = shares[(shares["frame"] == "law") & (shares["period"] == "2026-11-01")]
    assert november[["carried", "scored"]].values.tolist() == [[4, 7]]


def test_themes_page_shows_words_where_the_analysis_keeps_stems(tmp_path, monkeypatch, dashboard_db):
    url = f"sqlite:///{tmp_path / 'stems.db'}"
    build_dashboard_db(url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        from monitor.store.schema import themes
        conn.execute(themes.update().where(themes.c.id == "t2").values(
            label="firm · corpor", terms=["firm", "corpor", "credit rate"]))
    engine.dispose()
    monkeypatch.setenv("MONITOR_DB_URL", url)
    app = open_page("themes")
    listing = table(app, "label", "terms", "window_articles").set_index("id")
    assert listing.loc["t2", "label"] == "firms · corporate"   # from "Corporate credit ratings and EU firms"
    assert listing.loc["t2", "terms"] == "firms, corporate, credit ratings"
    assert listing.loc["t1", "label"] == "blacklists · law · 失信"   # words stay as they are


def test_annotate_page_says_when_no_quality_was_measured(tmp_path, monkeypatch, dashboard_db):
    url = f"sqlite:///{tmp_path / 'unmeasured.db'}"
    build_dashboard_db(url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(models.update().values(metrics={"examples": 182, "cross_validated": None}))
    engine.dispose()
    monkeypatch.setenv("MONITOR_DB_URL", url)
    app = open_page("annotate")
    assert table(app, "model", "F1")["examples"].tolist() == [182]
    assert any("Quality not measured yet" in caption.value for caption in app.caption)
