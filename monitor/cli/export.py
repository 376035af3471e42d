"""`monitor export`: articles, stories, themes or frame scores as CSV, JSON Lines or Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from monitor.cli.app import app
from monitor.cli.state import print_json, state


@app.command("export")
def export_command(
    ctx: typer.Context,
    kind: str = typer.Argument(..., help="What to export: articles, stories, themes or frames."),
    fmt: str = typer.Option("csv", "--format", "-f", help="csv, jsonl or parquet."),
    out: Optional[Path] = typer.Option(None, "--out", "-o",
                                       help="File to write (default: standard output; required for parquet)."),
    as_json: bool = typer.Option(False, "--json", help="With --out, print the row count as JSON."),
) -> None:
    """Export one row per article (or story, theme, frame score) for analysis elsewhere."""
    app_state = state(ctx)
    from monitor.present.export import export   # pandas: imported only when run
    rows = export(app_state.engine, kind, fmt, out)
    if out is None:
        return
    if as_json:
        print_json({"kind": kind, "format": fmt, "rows": rows, "path": str(out)})
    else:
        typer.echo(f"wrote {rows} {kind} to {out}", err=True)
