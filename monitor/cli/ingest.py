"""`monitor ingest PATH...`: load local feed files or folders into the database."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from monitor.cli.app import app
from monitor.cli.state import interactive, print_json, state
from monitor.errors import InputError
from monitor.ingest.files import IngestOptions, feed_files, ingest_paths
from monitor.ingest.language import language_code


@app.command()
def ingest(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="Feed files (RSS, Atom, RDF, JSON Feed) or folders of them."),
    outlet: Optional[str] = typer.Option(None, "--outlet", help="Outlet name for every article (default: the file name)."),
    group: str = typer.Option("other", "--group", help="Group of outlets the articles belong to."),
    language: Optional[str] = typer.Option(None, "--language", help="Declared language (ISO 639-1, e.g. en, ru, zh)."),
    feed_name: Optional[str] = typer.Option(None, "--feed-name", help="Store everything under this one feed (ingest:NAME)."),
    workers: int = typer.Option(min(4, os.cpu_count() or 1), "--workers", min=1,
                                help="Processes that parse files in parallel."),
    as_json: bool = typer.Option(False, "--json", help="Print the run summary as JSON."),
) -> None:
    """Parse, normalise, dedup and store local feed files, as if they had been fetched."""
    if language is not None and language_code(language) is None:
        raise InputError(f"--language {language!r}: not a language code such as en, ru or zh")
    options = IngestOptions(outlet=outlet, group=group, language=language_code(language),
                            feed_name=feed_name, workers=workers)
    engine = state(ctx).engine
    report = _run(engine, paths, options)
    summary = {"files": report.feeds, "ok": report.ok, "failed": report.failed,
               "entries": report.seen_articles, "new_articles": report.new_articles,
               "near_duplicates": report.duplicates, "duration_s": report.duration_s,
               "failures": report.failures, "warnings": report.warnings}
    if as_json:
        print_json(summary)
        return
    typer.echo(f"{report.feeds} files: {report.ok} ok, {report.failed} failed; "
               f"{report.seen_articles} entries, {report.new_articles} new articles "
               f"({report.duplicates} near-duplicates) in {report.duration_s:.1f} s")
    for line in report.failures[:20]:
        typer.echo(f"  failed: {line}", err=True)
    for line in report.warnings[:20]:
        typer.echo(f"  warning: {line}", err=True)


def _run(engine, paths: list[Path], options: IngestOptions):
    if not interactive():
        return ingest_paths(engine, paths, options)
    from rich.progress import Progress
    total = len(feed_files(paths))
    with Progress(transient=True) as progress:
        task = progress.add_task("ingesting", total=total)
        return ingest_paths(engine, paths, options, on_file=lambda _result: progress.advance(task))
