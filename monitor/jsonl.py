"""Reading the JSONL files users hand to monitor (labelled articles, articles to predict)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from monitor.errors import InputError


def numbered_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, line) of each non-blank line; an unreadable file is an
    InputError naming it, so callers only judge the records themselves."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    for number, line in enumerate(lines, 1):
        if line.strip():
            yield number, line
