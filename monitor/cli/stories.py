"""`monitor stories` and `monitor themes`: what analysis grouped, most recent or largest first."""

from __future__ import annotations

import typer

from monitor.cli.app import app
from monitor.cli.state import print_json, state


@app.command("stories")
def stories_command(
    ctx: typer.Context,
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many stories to list."),
    min_articles: int = typer.Option(2, "--min-articles", min=1,
                                     help="Only stories with at least this many articles."),
    as_json: bool = typer.Option(False, "--json", help="Print the stories as JSON."),
) -> None:
    """List the most recently active stories: dates, size, outlets, languages, headline."""
    with state(ctx).engine.connect() as conn:
        from monitor.store import grouping
        rows = grouping.list_stories(conn, limit=limit, min_articles=min_articles)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        typer.echo(f"{row['last_seen']:%Y-%m-%d}  {row['article_count']:>4} art  "
                   f"{len(row['outlets']):>3} outlets  {','.join(row['languages']):<8}  {row['headline']}")


@app.command("themes")
def themes_command(
    ctx: typer.Context,
    retired: bool = typer.Option(False, "--retired", help="Include retired themes."),
    as_json: bool = typer.Option(False, "--json", help="Print the themes and their events as JSON."),
) -> None:
    """List themes, largest first: size, distinctive terms and a representative headline."""
    with state(ctx).engine.connect() as conn:
        from monitor.store import grouping
        rows = grouping.load_themes(conn, active_only=not retired)
        events = grouping.list_theme_events(conn)
    if as_json:
        print_json({"themes": [{k: v for k, v in row.items() if k != "model_state"} for row in rows],
                    "events": events})
        return
    for row in rows:
        headline = row["headlines"][0] if row["headlines"] else ""
        status = "" if row["status"] == "active" else f" [{row['status']}]"
        typer.echo(f"{row['id']}  {row['size']:>6}  {row['label']}{status}\n{'':22}e.g. {headline}")
