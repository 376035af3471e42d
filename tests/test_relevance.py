"""Relevance: the default topic on the labelled dev set, the rules' reasons, the classifier,
the analysis job on SQLite and PostgreSQL, and `monitor relevance eval|train`."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.analyze import ngram_counts
from monitor.analyze import relevance as rel
from monitor.analyze.jobs import relevance as job
from monitor.analyze.text import TOKENIZER_VERSION, tokenize
from monitor.cli.app import main
from monitor.config import Topic, load_settings, parse_settings
from monitor.errors import ConfigError, InputError
from monitor.store import open_engine
from monitor.store.schema import articles

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "tests" / "data" / "relevance_dev.jsonl"


@pytest.fixture(scope="module")
def settings():
    return load_settings(ROOT / "feeds.yaml")


@pytest.fixture(scope="module")
def rules(settings):
    return rel.TopicRules(settings.topic)


def _judge(rules, text: str, lang: str) -> rel.Verdict:
    return rules.judge(tokenize(text, lang), lang, tokenize(text, lang))


def test_dev_set_is_big_enough_and_a_third_hard_negatives():
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 180
    assert {r["language"] for r in rows} == {"en", "ru", "zh"}
    assert sum(r["kind"] == "hard_negative" for r in rows) >= len(rows) / 3


def test_default_topic_meets_the_quality_target_on_the_dev_set(settings):
    report = rel.evaluate(settings.topic, rel.load_labels(DEV))
    for lang in ("en", "ru", "zh"):
        assert report["rules"][lang]["precision"] >= 0.95, report["rules"][lang]
        assert report["rules"][lang]["recall"] >= 0.90, report["rules"][lang]


@pytest.mark.parametrize("text, lang", [
    ("Alberta's Social Credit party picks a new leader", "en"),
    ("C.H. Douglas and the social credit theory of the national dividend", "en"),
    ("How to look up a Chinese supplier's unified social credit code", "en"),
    ("China adds US firms to its unreliable entity list", "en"),
    ("Reddit changes how karma is earned", "en"),
    ("Банк предложил социальный кредит многодетным семьям", "ru"),
    ("Как проверить китайского поставщика по коду социального кредита", "ru"),
    ("统一社会信用代码查询方法", "zh"),
    ("加拿大艾伯塔社会信用党的兴衰", "zh"),
    ("芝麻信用分650以上可免押金租车", "zh"),
])
def test_hard_negatives_are_rejected(rules, text, lang):
    assert not _judge(rules, text, lang).relevant


def test_include_terms_outweigh_exclude_terms_and_the_reason_says_so(rules):
    verdict = _judge(rules, "Unlike Alberta's party, China's social credit system rates firms", "en")
    assert verdict.relevant and verdict.basis == "include"
    assert "include: China's social credit" in verdict.reason
    assert "Alberta" in verdict.reason


def test_exclude_terms_veto_a_query_match(rules):
    verdict = _judge(rules, "China's registration rules: the unified social credit code", "en")
    assert not verdict.relevant and verdict.basis == "vetoed"
    assert verdict.reason.startswith("exclude: unified social credit code")


def test_sesame_credit_counts_only_as_part_of_the_system(rules):
    assert _judge(rules, "央行将芝麻信用纳入个人征信试点，探索社会信用体系建设", "zh").relevant
    assert not _judge(rules, "芝麻信用分高的用户可免押金骑车", "zh").relevant


def test_scores_are_in_range_and_ordered(rules):
    strong = _judge(rules, "社会信用体系建设规划纲要", "zh")
    query = _judge(rules, "最高法：失信被执行人被限制乘坐高铁", "zh")
    none = _judge(rules, "南方多地出现高温天气", "zh")
    assert 1.0 >= strong.score > query.score > 0.5 > none.score >= 0.0


def test_unknown_language_uses_every_include_term(rules):
    assert _judge(rules, "China's social credit system", "de").relevant


def test_a_topic_without_include_terms_keeps_everything():
    rules = rel.TopicRules(Topic(name="general"))
    verdict = rules.judge(tokenize("anything at all", "en"), "en")
    assert verdict.relevant and verdict.score == 1.0 and verdict.basis == "open"


def test_a_broken_query_is_a_config_error_naming_the_key():
    topic = Topic(name="t", query={"en": '"social credit" AND (China'})
    with pytest.raises(ConfigError) as info:
        rel.TopicRules(topic, "x.yaml")
    assert "x.yaml: topic.query.en: missing ')'" in info.value.problems[0]


def test_combine_keeps_include_and_exclude_decisions():
    include = rel.Verdict(0.85, True, "include: x", "include")
    excluded = rel.Verdict(0.02, False, "exclude: y", "excluded")
    query = rel.Verdict(0.75, True, "query: z", "query")
    none = rel.Verdict(0.0, False, "no topic term", "none")
    assert rel.combine(include, 0.01, 0.5).relevant
    assert not rel.combine(excluded, 0.99, 0.5).relevant
    assert rel.combine(query, 0.4, 0.5).score == pytest.approx(0.575)
    assert not rel.combine(query, 0.1, 0.5).relevant
    assert rel.combine(none, 0.9, 0.5).relevant and not rel.combine(none, 0.6, 0.5).relevant
    assert rel.combine(none, 0.9, 0.5).reason == "no topic term; classifier p=0.90"
    assert rel.combine(query, None, 0.5) is query


def test_label_file_errors_name_the_line(tmp_path):
    bad = tmp_path / "labels.jsonl"
    bad.write_text('{"id": 1, "title": "a", "language": "en", "relevant": true}\n'
                   '{"id": 2, "title": "b", "language": "en", "relevant": "yes"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"labels.jsonl:2: .*true or false"):
        rel.load_labels(bad)
    with pytest.raises(InputError, match="cannot read"):
        rel.load_labels(tmp_path / "absent.jsonl")


@pytest.fixture(scope="module")
def small_labels():
    """Every third dev example: enough for a quick classifier."""
    return rel.with_tokens(rel.load_labels(DEV)[::3])


def test_classifier_learns_and_survives_a_blob_round_trip(small_labels):
    model = rel.train(small_labels)
    again = rel.RelevanceModel.from_blob(model.to_blob())
    assert again is not None and again.fingerprint == rel.labels_fingerprint(small_labels)
    probs = again.probabilities(small_labels)
    truth = [e.relevant for e in small_labels]
    # On its own training data it separates the classes well.
    assert sum((p >= 0.5) == t for p, t in zip(probs, truth)) / len(truth) >= 0.9
    assert rel.RelevanceModel.from_blob(b"not a pickle") is None


def test_bulk_word_ngram_counts_give_the_vectorizer_matrix(small_labels):
    import numpy as np

    model = rel.train(small_labels)
    words = dict(model.pipeline.named_steps["features"].transformer_list)["words"]
    vectorizer = words.named_steps["tfidf"]
    counter = ngram_counts.word_counter(vectorizer)
    assert counter is not None
    documents = words.named_steps["select"].transform(rel._docs(small_labels))
    unseen_pair = [documents[0][1], documents[1][2], "never-seen", documents[0][1]]
    for batch in (documents, [[], unseen_pair, ["lang:en"]], [["a b", "credit"]]):
        expected, got = vectorizer.transform(batch), counter.transform(batch)
        assert expected.dtype == got.dtype and expected.shape == got.shape
        assert np.array_equal(expected.indptr, got.indptr)
        assert np.array_equal(expected.indices, got.indices)
        assert np.array_equal(expected.data, got.data)
    assert counter.counts([["a b"]]) is None   # a token with a space is left to the vectorizer
    assert counter.counts(documents).sum() > len(documents)


def test_stored_model_probabilities_equal_the_pipeline_s(small_labels):
    import numpy as np

    model = rel.train(small_labels)
    docs = rel._docs(small_labels)
    expected = model.pipeline.predict_proba(docs)[:, 1]
    assert np.array_equal(np.array(model.probabilities(small_labels)), expected)
    assert np.array_equal(np.array(model.probabilities(small_labels[::-1])), expected[::-1])


def test_classifier_needs_both_classes():
    few = [rel.Example(str(i), "t", "x", "en", True) for i in range(20)]
    with pytest.raises(InputError, match="at least 6"):
        rel.train(few)


def _article(article_id: str, title: str, language: str, summary: str = "") -> dict:
    now = datetime(2024, 5, 1, tzinfo=timezone.utc)
    return {"id": article_id, "url": f"https://example.org/{article_id}", "title": title,
            "summary": summary, "language": language, "published_at": now, "fetched_at": now}


def test_job_scores_caches_tokens_and_only_rescores_on_change(db_url, settings):
    engine = open_engine(db_url)
    with engine.begin() as conn:
        conn.execute(articles.insert(), [
            _article("a1", "China's social credit system expands", "en"),
            _article("a2", "Alberta's Social Credit party picks leader", "en"),
            _article("a3", "统一社会信用代码查询方法", "zh", "营业执照上的代码"),
            _article("a4", "Китай расширяет систему социального кредита", "ru"),
        ])
    first = job.run(engine, settings)
    assert first["scored"] == 4 and first["relevant"] == 2 and first["tokenized"] == 4
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(sa.select(articles))}
    assert rows["a1"].relevant and rows["a1"].relevance_reason.startswith("include:")
    assert not rows["a2"].relevant and "Alberta" in rows["a2"].relevance_reason
    assert rows["a3"].tokens[0] == "统一社会信用代码" and rows["a3"].tokens_version == TOKENIZER_VERSION
    assert 0.0 <= rows["a3"].relevance_score < 0.5

    assert job.run(engine, settings)["scored"] == 0          # nothing new, nothing changed
    with engine.begin() as conn:
        conn.execute(articles.insert(), [_article("a5", "Beijing's social credit law", "en")])
    again = job.run(engine, settings)
    assert again["scored"] == 1 and again["tokenized"] == 1

    stricter = settings.model_copy(update={"topic": settings.topic.model_copy(update={"threshold": 0.99})})
    rescored = job.run(engine, stricter)
    assert rescored["scored"] == 5 and rescored["tokenized"] == 0   # tokens came from the cache
    assert rescored["relevant"] == 0                              # a new threshold re-judges all


def _write_config(tmp_path: Path) -> Path:
    config = tmp_path / "feeds.yaml"
    config.write_text((ROOT / "feeds.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    parse_settings(config.read_text(encoding="utf-8"))
    return config


def test_cli_eval_prints_per_language_scores(tmp_path, capsys):
    config = _write_config(tmp_path)
    assert main(["--config", str(config), "relevance", "eval", "--labels", str(DEV), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["classifier_mode"] == "none"
    assert set(report["rules"]) == {"en", "ru", "zh", "all"}
    assert report["rules"]["all"]["n"] == len(DEV.read_text(encoding="utf-8").splitlines())


def test_cli_train_then_eval_cross_validates_on_the_training_file(tmp_path, capsys):
    config = _write_config(tmp_path)
    labels = tmp_path / "labels.jsonl"
    rows = DEV.read_text(encoding="utf-8").splitlines()[::2]
    labels.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert main(["--config", str(config), "relevance", "train", "--labels", str(labels), "--json"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["examples"] == len(rows) and 0.0 < trained["cv"]["all"]["f1"] <= 1.0
    assert main(["--config", str(config), "relevance", "eval", "--labels", str(labels), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["classifier_mode"].startswith("cross-validated")
    assert {"rules", "classifier", "combined"} <= set(report)


def test_cli_bad_labels_is_a_one_line_error(tmp_path, capsys):
    config = _write_config(tmp_path)
    assert main(["--config", str(config), "relevance", "eval", "--labels",
                 str(tmp_path / "none.jsonl")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "none.jsonl" in err[0]
