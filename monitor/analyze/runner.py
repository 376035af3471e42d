"""`monitor analyze`: run the analysis jobs in their fixed order over what changed.

Each job loads its inputs from the store, calls pure analysis functions and saves the
results; this module only knows the order. Results are derived data: `full=True`
rebuilds them from the articles.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable

from sqlalchemy.engine import Engine

from monitor.config import Settings

# Order matters: relevance fills the token cache the others read; stories and themes
# group relevant articles; framing scores them and detects shifts.
JOBS: list[str] = ["relevance", "stories", "themes", "framing"]


def run_analysis(engine: Engine, settings: Settings, *, full: bool = False,
                 on_step: Callable[[str, dict, float], None] | None = None) -> dict[str, dict]:
    """Run every job; return each job's counts keyed by job name."""
    results: dict[str, dict] = {}
    for name in JOBS:
        job = importlib.import_module(f"monitor.analyze.jobs.{name}")
        started = time.perf_counter()
        results[name] = job.run(engine, settings, full=full)
        if on_step is not None:
            on_step(name, results[name], time.perf_counter() - started)
    return results
