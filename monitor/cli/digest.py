"""Commands for the weekly digest and unattended runs: digest, run."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer

from monitor.cli.app import app
from monitor.cli.state import print_json, state


@app.command()
def digest(
    ctx: typer.Context,
    week: Optional[str] = typer.Option(None, "--week", help="ISO week YYYY-Www (default: the last "
                                       "full week in digest.timezone)."),
    send: bool = typer.Option(False, "--send", help="Mail it over SMTP to digest.recipients."),
    force: bool = typer.Option(False, "--force", help="With --send: send even if that week went out."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write digest-<week>.html, .txt and .eml "
                                       "into this folder."),
    as_json: bool = typer.Option(False, "--json", help="Print the digest's content as JSON."),
) -> int:
    """Build the weekly digest; print it as text, write files, and/or send it (exit 1 if any
    recipient did not get it)."""
    from monitor.present.digest import build_digest, render_text, write_digest
    from monitor.present.mailer import send_digest

    app_state = state(ctx)
    built = build_digest(app_state.engine, app_state.settings, week)
    result: dict = {"week": built.week, "files": [], "sent": None}
    if out is not None:
        result["files"] = [str(p) for p in write_digest(built, out)]
    exit_code = 0
    if send:
        sent = send_digest(app_state.engine, app_state.settings, built, force=force)
        result["sent"] = {"skipped": sent.skipped, "message_id": sent.message_id,
                          **(asdict(sent.delivery) if sent.delivery else {})}
        exit_code = 0 if sent.skipped or sent.delivery.ok else 1
    if as_json:
        print_json({**built.to_json(), **result})
        return exit_code
    if not send and out is None:
        typer.echo(render_text(built), nl=False)
    for path in result["files"]:
        typer.echo(f"wrote {path}")
    if send:
        _echo_send(result["sent"], built.week)
    return exit_code


def _echo_send(sent: dict, week: str) -> None:
    if sent["skipped"]:
        typer.echo(f"digest {week} was already sent (use --force to send it again)")
        return
    for recipient, reason in sent["refused"].items():
        typer.echo(f"refused: {recipient}: {reason}", err=True)
    if sent["error"]:
        typer.echo(f"failed: {sent['error']}", err=True)
    typer.echo(f"digest {week}: delivered to {len(sent['delivered'])} recipients")


@app.command("run")
def run_command(
    ctx: typer.Context,
    no_fetch: bool = typer.Option(False, "--no-fetch", help="Skip fetching feeds."),
    no_analyze: bool = typer.Option(False, "--no-analyze", help="Skip the analysis."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON."),
) -> int:
    """Fetch, analyse, send spike alerts and the weekly digest when due (for cron or a
    systemd timer; exit 1 when a mail could not be delivered)."""
    from monitor.present.cycle import run_cycle

    app_state = state(ctx)
    report = run_cycle(app_state.engine, app_state.settings, fetch=not no_fetch,
                       analyze=not no_analyze, echo=(lambda _: None) if as_json else typer.echo)
    if as_json:
        print_json(asdict(report))
    else:
        for note in report.notes:
            typer.echo(f"note: {note}", err=True)
        for failure in report.failures:
            typer.echo(f"failed: {failure}", err=True)
    return 1 if report.failures else 0
