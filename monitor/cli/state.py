"""What every command shares: the global options, loaded lazily, and output helpers."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from sqlalchemy.engine import Engine

from monitor.config import Settings, default_config_path, load_settings
from monitor.store import open_engine


@dataclass
class AppState:
    config_path: Path = field(default_factory=default_config_path)
    db_override: str | None = None
    _settings: Settings | None = None
    _engine: Engine | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings

    @property
    def db_url(self) -> str:
        return self.settings.database_url(self.db_override)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = open_engine(self.db_url)
        return self._engine


def state(ctx: typer.Context) -> AppState:
    """The AppState of this invocation (set by the root callback)."""
    root = ctx.find_root()
    if not isinstance(root.obj, AppState):
        root.obj = AppState()
    return root.obj


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def interactive() -> bool:
    """Show progress bars only on a terminal; stay quiet when piped."""
    return sys.stderr.isatty()
