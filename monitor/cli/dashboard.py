"""`monitor dashboard`: the Streamlit dashboard on 127.0.0.1."""

from __future__ import annotations

import typer

from monitor.cli.app import app
from monitor.cli.state import state


@app.command()
def dashboard(
    ctx: typer.Context,
    port: int = typer.Option(8501, "--port", min=1, max=65535,
                             help="Port on 127.0.0.1 (share it through an authenticating proxy)."),
) -> None:
    """Serve the dashboard on 127.0.0.1 until Ctrl-C."""
    from monitor.dashboard.launch import serve_dashboard

    app_state = state(ctx)
    app_state.engine   # opens and migrates the database now: a bad URL fails here, in one line
    serve_dashboard(config_path=app_state.config_path, db_url=app_state.db_url, port=port, echo=typer.echo)
