"""The framing job and `monitor frames` commands on real SQLite and PostgreSQL databases."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from monitor.analyze.codebook import codebook_for
from monitor.analyze.jobs import framing as framing_job
from monitor.analyze.jobs.framing import run
from monitor.analyze.jobs.relevance import run as relevance_job
from monitor.analyze.shifts import detect_shifts
from monitor.cli import main
from monitor.config import parse_settings
from monitor.store import open_engine
from monitor.models import FrameScore
from monitor.store.framing import frame_observations, list_shifts, save_frame_scores, story_frame_mix
from monitor.store.frame_counts import refresh_frame_counts
from monitor.store.schema import articles, frame_day_counts, frame_scores, scored_day_counts

SURVEILLANCE = "Cameras and facial recognition feed a mass surveillance state that tracks citizens."
LAW = "A new regulation and court enforcement rules set the legal framework for companies."


def _articles(n_months: int = 12, per_month: int = 10) -> list[dict]:
    rows = []
    for m in range(n_months):
        for i in range(per_month):
            text = SURVEILLANCE if m < n_months // 2 else LAW
            when = datetime(2019 + m // 12, m % 12 + 1, 5 + i, tzinfo=timezone.utc)
            rows.append({"id": f"a{m:02d}{i}", "title": f"Item {m}-{i}", "summary": text,
                         "published_at": when, "fetched_at": when, "language": "en",
                         "outlet": f"paper{i % 2}", "group_name": "western", "relevant": True,
                         "story_id": "s1" if m == 0 else None, "duplicate_of": None})
    rows.append({**rows[0], "id": "dup", "duplicate_of": rows[0]["id"]})
    rows.append({**rows[0], "id": "offtopic", "relevant": False})
    return rows


def test_job_scores_relevant_articles_and_records_the_shift(db_url):
    engine = open_engine(db_url)
    with engine.begin() as conn:
        conn.execute(articles.insert(), _articles())
    settings = parse_settings("topic: {name: t}\nframes: {period: month}\n")
    result = run(engine, settings)
    assert result["scored"] == 120 and result["source"] == "codebook"
    with engine.connect() as conn:
        ids = set(conn.execute(sa.select(frame_scores.c.article_id).distinct()).scalars())
        assert "dup" not in ids and "offtopic" not in ids and len(ids) == 120
        found = list_shifts(conn, frame="surveillance", scope_kind="all")
        mix = story_frame_mix(conn, "s1", by="outlet")
    drop = [s for s in found if s["method"] == "changepoint"][0]
    assert drop["period"] == "2019-07" and drop["effect"] < -0.9 and len(drop["evidence"]) == 5
    assert set(mix["outlet"]) == {"paper0", "paper1"}
    surveillance = mix[mix["frame"] == "surveillance"]
    assert list(surveillance["share"]) == [1.0, 1.0] and list(surveillance["n"]) == [5, 5]
    assert run(engine, settings)["scored"] == 0             # nothing new
    assert run(engine, settings, full=True)["scored"] == 120


def test_shifts_from_day_counts_equal_those_from_every_score(db_url):
    """The job tests day counts and loads scores only for evidence; the in-memory path over
    every frame score must find the very same shifts, evidence included."""
    engine = open_engine(db_url)
    with engine.begin() as conn:
        conn.execute(articles.insert(), _articles(n_months=18))
    settings = parse_settings("topic: {name: t}\nframes: {period: month}\n")
    assert run(engine, settings)["shifts"] > 0
    with engine.connect() as conn:
        observations = frame_observations(conn, codebook_for(settings.frames).ids)
        stored = list_shifts(conn)
    expected = detect_shifts(observations, period="month")
    def key(row):
        return (row["frame"], row["scope_kind"], row["scope"], row["period"], row["method"])
    assert sorted(map(key, stored)) == sorted(key(vars(s)) for s in expected)
    by_key = {key(vars(s)): s for s in expected}
    for row in stored:
        shift = by_key[key(row)]
        assert row["n"] == shift.n and row["effect"] == pytest.approx(shift.effect)
        assert row["p_value"] == pytest.approx(shift.p_value) and row["evidence"] == list(shift.evidence)


def test_scores_from_the_relevance_jobs_tokens_equal_fresh_ones(db_url):
    """After the relevance job cached tokens, framing reuses them; the scores must be those
    of tokenizing afresh (checked by scoring again with the cache emptied)."""
    engine = open_engine(db_url)
    rows = _articles(n_months=4)
    rows += [{**rows[i], "id": f"zh{i}", "language": "zh", "title": "社会信用体系",
              "summary": "失信被执行人受到联合惩戒，黑名单制度不断完善。" if i % 2 else "这并非监控，而是「信用」。"}
             for i in range(6)]
    with engine.begin() as conn:
        conn.execute(articles.insert(), [{**r, "relevant": None} for r in rows])
    settings = parse_settings("topic: {name: t}\nframes: {period: month}\n")
    assert relevance_job(engine, settings)["tokenized"] == len(rows)
    assert run(engine, settings)["scored"] == len(rows) - 1   # the duplicate is not scored
    query = sa.select(frame_scores).order_by(frame_scores.c.article_id, frame_scores.c.frame)
    with engine.begin() as conn:
        cached = [tuple(r) for r in conn.execute(query)]
        conn.execute(articles.update().values(tokens=None, tokens_version=None))
    assert run(engine, settings, full=True)["scored"] == len(rows) - 1
    with engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(query)] == cached
    assert any(r[3] for r in cached if r[0].startswith("zh"))   # Chinese frames found too


def test_incremental_run_rebuilds_only_changed_days_to_the_full_counts(db_url):
    """New articles and an article turned duplicate change a few days' counts; rebuilding
    only those days must leave both tables exactly as a full rebuild does."""
    engine = open_engine(db_url)
    rows = _articles()
    with engine.begin() as conn:
        conn.execute(articles.insert(), rows)
    settings = parse_settings("topic: {name: t}\nframes: {period: month}\n")
    run(engine, settings)
    late = [{**r, "id": f"new{i}", "published_at": r["published_at"].replace(year=2020)}
            for i, r in enumerate(rows[:5])]
    with engine.begin() as conn:
        conn.execute(articles.insert(), late)
        conn.execute(articles.update().where(articles.c.id == "a031").values(duplicate_of="a030"))
    result = run(engine, settings)
    assert result["scored"] == 5 and result["removed"] == len(frame_ids(settings))
    tables = (frame_day_counts, scored_day_counts)
    with engine.begin() as conn:
        incremental = [sorted(map(tuple, conn.execute(sa.select(t)))) for t in tables]
        refresh_frame_counts(conn)
        rebuilt = [sorted(map(tuple, conn.execute(sa.select(t)))) for t in tables]
    assert incremental == rebuilt
    assert any(r[0].startswith("2020-") for r in incremental[1])
    day_of_duplicate = rows[31]["published_at"].date().isoformat()
    assert sum(r[4] for r in incremental[1] if r[0] == day_of_duplicate) == 0


def test_saved_scores_read_back_with_their_evidence_and_replace_older_ones(db_url):
    """Scores go to the driver as plain rows, evidence as JSON text: the JSON column must
    read back the lists (empty ones too), on SQLite and PostgreSQL alike."""
    engine = open_engine(db_url)
    with engine.begin() as conn:
        conn.execute(articles.insert(), _articles(n_months=1, per_month=2))
        save_frame_scores(conn, [FrameScore("a000", "law", 0.5, True, "codebook", ("court", "监控")),
                                 FrameScore("a000", "rights", 0.0, False, "codebook"),
                                 FrameScore("a001", "law", 0.1, False, "codebook", ("not law",))])
        save_frame_scores(conn, [FrameScore("a001", "law", 0.75, True, "model", ("law",))])
        stored = [tuple(r) for r in conn.execute(sa.select(frame_scores).order_by(
            frame_scores.c.article_id, frame_scores.c.frame))]
    assert stored == [("a000", "law", 0.5, True, "codebook", ["court", "监控"]),
                      ("a000", "rights", 0.0, False, "codebook", []),
                      ("a001", "law", 0.75, True, "model", ["law"])]


def test_worker_processes_store_what_one_process_would(db_url, monkeypatch):
    """Above POOL_MIN_ARTICLES the rows are scored and built in worker processes."""
    engine = open_engine(db_url)
    with engine.begin() as conn:
        conn.execute(articles.insert(), _articles())
    settings = parse_settings("topic: {name: t}\nframes: {period: month}\n")
    query = sa.select(frame_scores).order_by(frame_scores.c.article_id, frame_scores.c.frame)
    run(engine, settings)
    with engine.connect() as conn:
        alone = [tuple(r) for r in conn.execute(query)]
    monkeypatch.setattr(framing_job, "POOL_MIN_ARTICLES", 0)
    monkeypatch.setattr(framing_job, "BATCH", 7)
    assert run(engine, settings, full=True)["scored"] == 120
    with engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(query)] == alone
    assert any(r[3] for r in alone) and any(r[5] for r in alone)


def frame_ids(settings) -> list[str]:
    return codebook_for(settings.frames).ids


def _labelled(path, n: int = 40) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            frames = ["Economic"] if i % 2 else ["Crime_and_punishment"]
            text = ("prices taxes budget market costs" if i % 2 else "police arrested suspect prison crime")
            out.write(json.dumps({"id": str(i), "title": f"t{i}", "text": f"{text} item{i}",
                                  "language": "en", "frames": frames}) + "\n")


def test_cli_train_predict_eval_and_shifts(tmp_path, capsys):
    config = tmp_path / "feeds.yaml"
    config.write_text("topic: {name: t}\nframes: {codebook: policy-frames}\n", encoding="utf-8")
    labels = tmp_path / "labels.jsonl"
    _labelled(labels)
    base = ["--config", str(config)]
    assert main(base + ["frames", "train", "--labels", str(labels), "--json"]) == 0
    cv = json.loads(capsys.readouterr().out)
    assert cv["micro_f1"] > 0.9 and cv["per_frame"]["Economic"]["support"] == 20

    output = tmp_path / "out.jsonl"
    assert main(base + ["frames", "predict", "--input", str(labels), "--output", str(output)]) == 0
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert records[1]["frames"] == ["Economic"] and len(records[1]["frame_scores"]) == 14

    assert main(base + ["frames", "eval", "--labels", str(labels)]) == 0
    assert "micro-F1 1.000" in capsys.readouterr().out
    assert main(base + ["frames", "shifts", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_cli_rejects_unknown_frames_in_one_line(tmp_path, capsys):
    config = tmp_path / "feeds.yaml"
    config.write_text("topic: {name: t}\n", encoding="utf-8")
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"id": 1, "text": "x", "language": "en", "frames": ["Sports"]}\n', encoding="utf-8")
    assert main(["--config", str(config), "frames", "train", "--labels", str(labels)]) == 2
    assert "frames not in the codebook: Sports" in capsys.readouterr().err
