"""`monitor analyze`: relevance, stories, themes and framing over the stored articles."""

from __future__ import annotations

import typer

from monitor.cli.app import app
from monitor.cli.state import print_json, state


@app.command()
def analyze(
    ctx: typer.Context,
    full: bool = typer.Option(False, "--full", help="Rebuild every analysis from all articles."),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
    one_process: bool = typer.Option(
        False, "--one-process",
        help="Run the jobs one after another in this process, not stories and themes side by "
             "side in two (slower on several cores; peak memory is that of one job)."),
) -> None:
    """Score relevance, group stories and themes, and measure framing (incremental)."""
    app_state = state(ctx)

    def report(name: str, counts: dict, seconds: float) -> None:
        if not as_json:
            details = ", ".join(f"{k} {v}" for k, v in counts.items() if not isinstance(v, (list, dict)))
            typer.echo(f"{name:<10} {seconds:6.1f}s  {details}")

    from monitor.analyze.runner import run_analysis   # heavy: imported only when run
    results = run_analysis(app_state.engine, app_state.settings, full=full, on_step=report,
                           parallel=not one_process)
    if as_json:
        print_json(results)
