"""Spike alerts and the unattended `monitor run` cycle, with a real SMTP server on loopback:
a spike alerts once and names its stories; the digest goes out once when due."""

from __future__ import annotations

import contextlib
import io
import json
import socket
from datetime import date, datetime, timedelta, timezone
from email import message_from_bytes
from email.policy import default

import pytest
from aiosmtpd.controller import Controller

from monitor.cli import main
from monitor.present.alerts import check_spikes, detect_spike
from monitor.present.cycle import run_cycle
from monitor.present.mailer import SmtpConfig, send_message
from monitor.store import digest as digest_store
from monitor.store import open_engine
from monitor.store.schema import articles
from test_digest_support import HOSTILE_TITLE, SETTINGS_YAML, WEEK, add_hostile_story, settings

SPIKE_DAY = datetime(2026, 11, 20, tzinfo=timezone.utc)


class Inbox:
    def __init__(self):
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.original_content or envelope.content)
        return "250 OK"


@pytest.fixture
def smtp():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, SmtpConfig(host="127.0.0.1", port=port, security="none", timeout=5, backoff_s=0)
    controller.stop()


def _baseline(engine, per_day: int = 2, days: int = 14) -> None:
    """`per_day` ordinary relevant articles on each of the `days` before SPIKE_DAY."""
    rows = []
    for back in range(1, days + 1):
        for n in range(per_day):
            when = SPIKE_DAY - timedelta(days=back) + timedelta(hours=9 + n)
            rows.append({"id": f"b-{back}-{n}", "url": f"https://a.example/{back}/{n}", "title": "ordinary",
                         "published_at": when, "fetched_at": when, "language": "en", "outlet": "A",
                         "relevant": True})
    with engine.begin() as conn:
        conn.execute(articles.insert(), rows)


def test_detect_spike_against_the_trailing_fourteen_days():
    day = date(2026, 11, 20)
    daily = {day - timedelta(days=k): 2 for k in range(1, 15)}
    assert detect_spike({**daily, day: 6}, day, factor=3.0, min_articles=5) is None      # not > 3 x 2
    spike = detect_spike({**daily, day: 12}, day, factor=3.0, min_articles=5)
    assert (spike.articles, spike.baseline, spike.ratio) == (12, 2.0, 6.0)
    # A quiet topic: the floor of one a day, and the minimum count, stop tiny "spikes".
    assert detect_spike({day: 4}, day, factor=3.0, min_articles=5) is None
    assert detect_spike({day: 5}, day, factor=3.0, min_articles=5).baseline == 0.0


def test_a_spike_alerts_once_and_names_its_stories(tmp_path, smtp):
    inbox, config = smtp
    engine = open_engine(f"sqlite:///{tmp_path / 'm.db'}")
    _baseline(engine)
    add_hostile_story(engine, SPIKE_DAY + timedelta(hours=8), count=12)
    deliver = lambda message, rcpts: send_message(message, rcpts, config)
    noon = SPIKE_DAY + timedelta(hours=12)

    first = check_spikes(engine, settings(), now=noon, deliver=deliver)
    again = check_spikes(engine, settings(), now=noon + timedelta(hours=1), deliver=deliver)
    next_day = check_spikes(engine, settings(), now=noon + timedelta(days=1), deliver=deliver)

    assert [s.day for s in first.spikes] == [date(2026, 11, 20)] and first.sent == ["2026-11-20"]
    assert first.spikes[0].articles == 12 and first.spikes[0].baseline == 2.0
    assert again.spikes == [] and next_day.spikes == [] and len(inbox.messages) == 1
    message = message_from_bytes(inbox.messages[0], policy=default)
    assert message["Subject"].startswith("[monitor] Spike: 12 articles on 2026-11-20: Social credit Bcc:")
    assert message["Bcc"] is None
    text = message.get_body(("plain",)).get_content()
    assert "12 relevant articles on 2026-11-20, 6.0 times the 14-day average of 2.0 a day" in text
    assert "(12 articles, 7 outlets)" in text
    html = message.get_body(("html",)).get_content()
    assert "Социальный кредит" in html and "<script" not in html
    with engine.connect() as conn:
        assert digest_store.alert_days(conn, ["2026-11-20", "2026-11-21"]) == {"2026-11-20"}


def test_without_mail_a_spike_is_reported_but_not_recorded(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'm.db'}")
    _baseline(engine)
    add_hostile_story(engine, SPIKE_DAY + timedelta(hours=8), count=12)
    run = check_spikes(engine, settings(), now=SPIKE_DAY + timedelta(hours=12), deliver=None)
    assert len(run.spikes) == 1 and run.sent == []
    with engine.connect() as conn:
        assert digest_store.alert_days(conn, ["2026-11-20"]) == set()


def test_run_sends_the_due_digest_once_and_the_spike_alert(tmp_path, smtp):
    inbox, config = smtp
    engine = open_engine(f"sqlite:///{tmp_path / 'm.db'}")
    _baseline(engine)
    add_hostile_story(engine, SPIKE_DAY + timedelta(hours=8), count=12)
    monday = datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)   # before 07:00: not due yet
    early = run_cycle(engine, settings(), now=monday, fetch=False, analyze=False, smtp=config)
    due = run_cycle(engine, settings(), now=monday + timedelta(hours=2), fetch=False, analyze=False,
                    smtp=config)
    later = run_cycle(engine, settings(), now=monday + timedelta(hours=3), fetch=False, analyze=False,
                      smtp=config)
    assert early.digest_week is None and not early.digest_sent
    assert due.digest_week == WEEK and due.digest_sent and due.failures == []
    assert later.digest_week is None and not later.digest_sent
    subjects = [message_from_bytes(raw, policy=default)["Subject"] for raw in inbox.messages]
    assert len(subjects) == 1 and f"week {WEEK}" in subjects[0]


def test_cli_digest_writes_files_and_prints_json(tmp_path, monkeypatch):
    monkeypatch.delenv("MONITOR_SMTP_HOST", raising=False)
    config = tmp_path / "feeds.yaml"
    config.write_text(SETTINGS_YAML, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'm.db'}"
    engine = open_engine(db)
    add_hostile_story(engine, SPIKE_DAY, count=6)
    engine.dispose()
    out = tmp_path / "out"
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["digest", "--week", WEEK, "--out", str(out), "--json", "--config", str(config),
                     "--db", db])
    assert code == 0
    data = json.loads(buffer.getvalue())
    assert data["week"] == WEEK and data["numbers"][0]["value"] == 6
    assert data["stories"][0]["headline"] == HOSTILE_TITLE
    assert sorted(p.rsplit("/", 1)[1] for p in data["files"]) == \
        [f"digest-{WEEK}.eml", f"digest-{WEEK}.html", f"digest-{WEEK}.txt"]
    # --send without an SMTP host is a configuration error: one line, exit 2.
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["digest", "--week", WEEK, "--send", "--config", str(config), "--db", db])
    assert code == 2 and "digest.smtp_host" in err.getvalue()
    with contextlib.redirect_stderr(err):
        assert main(["digest", "--week", "2026-99", "--config", str(config), "--db", db]) == 2
    assert "expected an ISO week" in err.getvalue()


def test_cli_run_without_mail_settings_notes_why_nothing_was_mailed(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("MONITOR_SMTP_HOST", raising=False)
    config = tmp_path / "feeds.yaml"
    config.write_text(SETTINGS_YAML, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'm.db'}"
    code = main(["run", "--no-fetch", "--no-analyze", "--json", "--config", str(config), "--db", db])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["failures"] == [] and report["fetch"] is None
    assert report["notes"] == ["mail not sent: test.yaml: digest.smtp_host: not set "
                               "(or set MONITOR_SMTP_HOST) so mail cannot be sent"
                               .replace("test.yaml", str(config))]
