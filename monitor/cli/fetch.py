"""Commands that fetch feeds and report their health: fetch, status."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Optional

import typer

from monitor.cli.app import app
from monitor.cli.state import print_json, state
from monitor.store.feeds import feed_health


@app.command()
def fetch(
    ctx: typer.Context,
    all_feeds: bool = typer.Option(False, "--all", help="Fetch every enabled feed, due or not."),
    feed: Optional[str] = typer.Option(None, "--feed", help="Fetch only the feed of this name "
                                       "(a search feed: all its languages)."),
    force: bool = typer.Option(False, "--force", help="Fetch even if not due or flagged."),
    worker: bool = typer.Option(False, "--worker", help="Share the queue with other `fetch "
                                "--worker` processes (leases; meant for PostgreSQL) until "
                                "no feed is due."),
    as_json: bool = typer.Option(False, "--json", help="Print the run summary as JSON."),
) -> int:
    """Fetch the due feeds politely and store their new articles (exit 1 if every feed failed)."""
    app_state = state(ctx)
    from monitor.ingest.runner import FetchOptions, run_fetch   # imported only when run
    options = FetchOptions(feed=feed, all_feeds=all_feeds, force=force, worker=worker)
    report = run_fetch(app_state.engine, app_state.settings, options)
    if as_json:
        print_json({**asdict(report), "feeds": report.feeds})
    else:
        for warning in report.warnings:
            typer.echo(f"warning: {warning}", err=True)
        for failure in report.failures:
            typer.echo(f"failed: {failure}", err=True)
        typer.echo(f"{report.feeds} feeds: {report.ok} ok, {report.not_modified} not modified, "
                   f"{report.failed} failed; {report.new_articles} new articles "
                   f"in {report.duration_s:.1f} s")
    return 1 if report.feeds and report.failed == report.feeds else 0


@app.command()
def status(
    ctx: typer.Context,
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when any feed is failing."),
    as_json: bool = typer.Option(False, "--json", help="Print each feed's health as JSON."),
) -> int:
    """Show each feed's health: last success, consecutive failures, next due, last error."""
    with state(ctx).engine.connect() as conn:
        rows = feed_health(conn)
    if as_json:
        print_json(rows)
    else:
        for row in rows:
            typer.echo(_status_line(row))
        failing = sum(1 for row in rows if row["consecutive_failures"])
        typer.echo(f"{len(rows)} feeds, {failing} failing")
    return 1 if strict and any(row["consecutive_failures"] for row in rows) else 0


def _status_line(row: dict) -> str:
    state_word = "FLAGGED" if row["flagged"] else ("FAILING" if row["consecutive_failures"] else "ok")
    line = (f"{state_word:8} {row['name']}: last success {_when(row['last_success_at'])}, "
            f"{row['consecutive_failures']} failures, next due {_when(row['next_due_at'])}")
    if row["url"] != row["config_url"]:
        line += f", moved to {row['url']}"
    if row["last_error"] and row["consecutive_failures"]:
        line += f"\n         last error [{row['last_error_class']}]: {row['last_error']}"
    return line


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"
