"""The Typer application: global options and the one place user errors become one line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from typer import exceptions as typer_errors

from monitor.cli.state import AppState
from monitor.errors import ConfigError, MonitorError

app = typer.Typer(
    name="monitor",
    help="Monitor how media cover a topic: fetch feeds, keep what is on topic, group stories "
         "and themes, measure framing, and report it in a dashboard and a weekly digest.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def root(
    ctx: typer.Context,
    config: Optional[Path] = typer.Option(
        None, "--config", "-c", envvar="MONITOR_CONFIG",
        help="feeds.yaml to use (default ./feeds.yaml or $MONITOR_CONFIG)."),
    db: Optional[str] = typer.Option(
        None, "--db", help="Database URL; overrides feeds.yaml and $MONITOR_DB_URL."),
) -> None:
    ctx.obj = AppState(config_path=config or Path("feeds.yaml"), db_override=db)


GLOBAL_OPTIONS = ("--config", "-c", "--db")


def hoist_global_options(args: list[str]) -> list[str]:
    """Let global options follow the command too: `monitor check --config x.yaml`."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        if arg in GLOBAL_OPTIONS and i + 1 < len(args):
            front += [arg, args[i + 1]]
            i += 2
            continue
        if arg.split("=", 1)[0] in ("--config", "--db") and "=" in arg:
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run a command; user errors print one line and exit 2."""
    from monitor.cli import register_commands
    register_commands()
    try:
        args = hoist_global_options(sys.argv[1:] if argv is None else list(argv))
        result = app(args=args, standalone_mode=False, prog_name="monitor")
        return result if isinstance(result, int) else 0
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except MonitorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return 130
    except typer_errors.TyperException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def run() -> None:
    sys.exit(main())
