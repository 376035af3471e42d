"""Commands that set up and check a monitor: init, check."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import typer

from monitor.cli.app import app
from monitor.cli.state import print_json, state
from monitor.errors import InputError


def starter_config() -> str:
    """The commented starter feeds.yaml shipped with the package."""
    return resources.files("monitor.data").joinpath("feeds.yaml").read_text(encoding="utf-8")


@app.command()
def init(
    directory: Path = typer.Argument(..., help="Folder to write feeds.yaml into (created if missing)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing feeds.yaml."),
) -> None:
    """Write a commented starter feeds.yaml into DIR."""
    target = directory / "feeds.yaml"
    if target.exists() and not force:
        raise InputError(f"{target}: already exists (use --force to overwrite)")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        target.write_text(starter_config(), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{target}: cannot write: {exc.strerror}") from None
    typer.echo(f"wrote {target}; edit the topic and feeds, then run `monitor check`")


@app.command()
def check(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Validate feeds.yaml and print every problem as file:line: key: message (exit 2)."""
    settings = state(ctx).settings  # raises ConfigError listing every problem
    enabled = [f for f in settings.feeds if f.enabled]
    summary = {
        "config": str(state(ctx).config_path),
        "topic": settings.topic.name,
        "languages": list(settings.topic.languages),
        "feeds": len(settings.feeds),
        "enabled_feeds": len(enabled),
        "groups": sorted({f.group for f in settings.feeds}),
        "frames_codebook": settings.frames.codebook,
        "database": state(ctx).db_url.split("@")[-1],
    }
    if as_json:
        print_json(summary)
        return
    typer.echo(f"{summary['config']}: ok")
    typer.echo(f"  topic: {summary['topic']} ({', '.join(summary['languages'])})")
    typer.echo(f"  feeds: {summary['enabled_feeds']} enabled of {summary['feeds']}; "
               f"groups: {', '.join(summary['groups']) or '-'}")
    typer.echo(f"  frames: {summary['frames_codebook']}; database: {summary['database']}")
