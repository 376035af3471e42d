"""`monitor fetch` and `monitor status` through the CLI: summary, exit codes, failing first."""

from __future__ import annotations

import json

from monitor.cli import main
from test_fetch_support import Server, rss, static

CONFIG = """\
topic:
  name: Social credit
  languages: [en]
  include: {{en: ["social credit"]}}
feeds:
  - {{name: alpha, url: "{ok}", language: en}}
  - {{name: beta, url: "{gone}", language: en}}
fetch: {{connect_timeout: 1, read_timeout: 1, total_timeout: 2, retries: 0, host_delay: 0}}
"""


def write_config(tmp_path, ok: str, gone: str) -> list[str]:
    path = tmp_path / "feeds.yaml"
    path.write_text(CONFIG.format(ok=ok, gone=gone), encoding="utf-8")
    return ["--config", str(path), "--db", f"sqlite:///{tmp_path / 'monitor.db'}"]


def test_fetch_summary_and_status_list_failing_feeds_first(tmp_path, capsys):
    with Server({"/ok": static(rss("Ok", 2)), "/gone": static(b"", 410)}) as server:
        args = write_config(tmp_path, server.url("/ok"), server.url("/gone"))
        assert main(["fetch", *args]) == 0          # one feed failed, not all
        out = capsys.readouterr()
    assert "2 feeds: 1 ok, 0 not modified, 1 failed; 2 new articles" in out.out
    assert "failed: beta:" in out.err and "410" in out.err

    assert main(["status", *args]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("FLAGGED  beta:") and "1 failures" in lines[0]
    assert "[gone]" in lines[1]
    assert lines[2].startswith("ok       alpha:")
    assert lines[-1] == "2 feeds, 1 failing"

    assert main(["status", "--strict", *args]) == 1
    capsys.readouterr()
    assert main(["status", "--json", *args]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["consecutive_failures"], r["last_error_class"]) for r in rows] == [
        ("beta", 1, "gone"), ("alpha", 0, None)]


def test_fetch_exits_1_when_every_feed_failed(tmp_path, capsys):
    with Server({"/gone": static(b"", 410)}) as server:
        args = write_config(tmp_path, server.url("/gone"), server.url("/gone") + "?2")
        assert main(["fetch", "--json", *args]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["feeds"] == 2 and report["failed"] == 2 and report["ok"] == 0


def test_unknown_feed_name_is_a_user_error(tmp_path, capsys):
    with Server({"/ok": static(rss())}) as server:
        args = write_config(tmp_path, server.url("/ok"), server.url("/ok") + "?b")
        assert main(["fetch", "--feed", "nope", *args]) == 2
    assert "--feed nope: no such feed" in capsys.readouterr().err


def test_unusable_database_exits_2(tmp_path, capsys):
    args = write_config(tmp_path, "http://127.0.0.1:9/a", "http://127.0.0.1:9/b")
    args[-1] = f"sqlite:///{tmp_path / 'missing-folder' / 'monitor.db'}"
    assert main(["fetch", *args]) == 2
    assert "does not exist" in capsys.readouterr().err
