"""`monitor demo`: run the whole monitor offline on the bundled corpus."""

from __future__ import annotations

from pathlib import Path

import typer

from monitor.cli.app import app


@app.command()
def demo(
    directory: Path = typer.Option(Path("monitor-demo"), "--dir",
                                   help="Working folder for the demo's feeds.yaml, database and digest."),
    no_dashboard: bool = typer.Option(False, "--no-dashboard", help="Stop after writing the digest."),
    port: int = typer.Option(8501, "--port", help="Port of the dashboard on 127.0.0.1."),
) -> None:
    """Serve the bundled corpus on loopback, fetch, analyse, write a digest, open the dashboard."""
    from monitor.demo.run import run_demo

    result = run_demo(directory, echo=typer.echo)
    if no_dashboard:
        return
    from monitor.dashboard.launch import serve_dashboard
    from monitor.demo.run import corpus_view

    # Open on the whole corpus with quarterly shares: the framing shifts span years.
    serve_dashboard(config_path=result.config_path, db_url=result.db_url, port=port,
                    echo=typer.echo, view=corpus_view())
