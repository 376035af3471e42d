"""The command line. Each command group lives in its own module and stays thin."""

from __future__ import annotations

import importlib

from monitor.cli.app import app, main, run

# Modules that add commands to `app`; a module per area so the CLI stays small.
COMMAND_MODULES = [
    "monitor.cli.setup",
    "monitor.cli.ingest",
    "monitor.cli.fetch",
    "monitor.cli.analyze",
    "monitor.cli.demo",
    "monitor.cli.relevance",
    "monitor.cli.digest",
    "monitor.cli.frames",
    "monitor.cli.dashboard",
    "monitor.cli.export",
    "monitor.cli.stories",
]

_registered = False


def register_commands() -> None:
    global _registered
    if not _registered:
        for name in COMMAND_MODULES:
            importlib.import_module(name)
        _registered = True


__all__ = ["app", "main", "run", "register_commands"]
