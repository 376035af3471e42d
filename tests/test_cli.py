"""The command line as a user meets it: help for every command, clean errors, init and check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.main import get_command

from monitor.cli import app, main, register_commands
from monitor.config import load_settings

ROOT = Path(__file__).resolve().parent.parent


def _commands() -> dict[str, object]:
    """Every command path ("fetch", "frames train", ...) -> its click command."""
    register_commands()
    found: dict[str, object] = {}

    def walk(group, prefix: str) -> None:
        for name, command in group.commands.items():
            path = f"{prefix} {name}".strip()
            if hasattr(command, "commands"):
                walk(command, path)
            found[path] = command

    walk(get_command(app), "")
    return found


def test_every_command_has_help_text():
    commands = _commands()
    assert {"init", "check", "analyze", "demo"} <= set(commands)
    for path, command in commands.items():
        assert (command.help or "").strip(), f"`monitor {path}` has no help text"
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                assert (param.help or "").strip(), f"`monitor {path}` option {param.name} has no help"


def test_every_command_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [path for path in _commands() if f"monitor {path}" not in readme]
    assert not missing, f"commands missing from README.md: {missing}"


def test_bundled_starter_config_is_the_default_feeds_yaml_and_valid():
    packaged = (ROOT / "monitor" / "data" / "feeds.yaml").read_text(encoding="utf-8")
    assert (ROOT / "feeds.yaml").read_text(encoding="utf-8") == packaged
    settings = load_settings(ROOT / "feeds.yaml")
    assert settings.topic.languages == ("en", "ru", "zh")


def test_check_reports_every_problem_with_file_line_and_key(tmp_path, capsys):
    bad = tmp_path / "feeds.yaml"
    bad.write_text(
        "topic:\n"
        "  name: test\n"
        "feeds:\n"
        "  - name: good\n"
        "    url: https://example.org/rss\n"
        "  - name: bad\n"
        "    url: gopher://example.org/rss\n"
        "    enabeld: false\n"
        "fetch:\n"
        "  per_host: 0\n", encoding="utf-8")
    assert main(["check", "--config", str(bad)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        f"{bad}:7: feeds[1].url: not an http(s) or file URL",
        f"{bad}:8: feeds[1].enabeld: unknown key",
        f"{bad}:10: fetch.per_host: Input should be greater than or equal to 1",
    ]


def test_yaml_syntax_error_names_the_line(tmp_path, capsys):
    bad = tmp_path / "feeds.yaml"
    bad.write_text("topic:\n  name: [unclosed\nfeeds: []\n", encoding="utf-8")
    assert main(["--config", str(bad), "check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{bad}:") and "YAML syntax error" in err


def test_missing_config_is_one_line_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "monitor", "--config", str(tmp_path / "none.yaml"),
                             "check"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == f"{tmp_path / 'none.yaml'}: no such file (use --config or `monitor init DIR`)"


def test_init_writes_a_valid_starter_and_refuses_to_overwrite(tmp_path, capsys):
    assert main(["init", str(tmp_path / "new")]) == 0
    settings = load_settings(tmp_path / "new" / "feeds.yaml")
    assert settings.topic.name == "China's Social Credit System"
    assert main(["init", str(tmp_path / "new")]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["--config", str(tmp_path / "new" / "feeds.yaml"), "check", "--json"]) == 0
    assert '"topic": "China\'s Social Credit System"' in capsys.readouterr().out


def test_unusable_database_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "feeds.yaml").write_text("topic: {name: t}\n", encoding="utf-8")
    code = main(["--config", str(tmp_path / "feeds.yaml"), "--db",
                 f"sqlite:///{tmp_path}/no/such/dir/x.db", "analyze"])
    assert code == 2
    assert capsys.readouterr().err.startswith("error: sqlite:///")
