"""`monitor analyze`: run the analysis jobs in their fixed order over what changed.

Each job loads its inputs from the store, calls pure analysis functions and saves the
results; this module only knows the order. Results are derived data: `full=True`
rebuilds them from the articles.

Jobs of one stage read only what earlier stages wrote, so they run side by side: the
first in this process, the others each in a child process with its own database
connection. Stories and themes are single-threaded, so on two cores this saves the
shorter of the two; in a small incremental run framing joins them. A database only this process can see (SQLite in memory) runs every
job here, one after the other.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor

from sqlalchemy.engine import Engine

from monitor.config import Settings
from monitor.workers import exit_with_parent

# Relevance fills the token cache the others read; stories and themes group relevant
# articles; framing scores them and detects shifts (it reads neither stories nor themes,
# but it runs its own worker processes, so it gets the cores to itself).
STAGES: list[list[str]] = [["relevance"], ["stories", "themes"], ["framing"]]
# A run that judged few articles needs little memory, so framing joins the second stage;
# a large one keeps it apart, or three jobs' memory would be held at once.
SMALL_RUN_STAGES: list[list[str]] = [["relevance"], ["stories", "themes", "framing"]]
SMALL_RUN = 5_000   # articles the relevance job judged in this run
JOBS: list[str] = [name for stage in STAGES for name in stage]

StepCallback = Callable[[str, dict, float], None]


def run_analysis(engine: Engine, settings: Settings, *, full: bool = False,
                 on_step: StepCallback | None = None, parallel: bool = True) -> dict[str, dict]:
    """Run every job; return each job's counts keyed by job name. `parallel=False` runs
    every job in this process, one after the other."""
    results: dict[str, dict] = {}

    def run(stage: list[str]) -> None:
        for name, (counts, seconds) in _run_stage(engine, settings, stage, full, parallel):
            results[name] = counts
            if on_step is not None:
                on_step(name, counts, seconds)

    first, *later = STAGES
    run(first)
    if not full and results["relevance"].get("scored", 0) <= SMALL_RUN:
        later = SMALL_RUN_STAGES[1:]
    for stage in later:
        run(stage)
    return results


def run_job(engine: Engine, settings: Settings, name: str, full: bool) -> tuple[dict, float]:
    """Run one job; return its counts and its wall time in seconds."""
    job = importlib.import_module(f"monitor.analyze.jobs.{name}")
    started = time.perf_counter()
    counts = job.run(engine, settings, full=full)
    return counts, time.perf_counter() - started


def _run_stage(engine: Engine, settings: Settings, stage: list[str], full: bool, parallel: bool):
    """(name, (counts, seconds)) for each job of the stage, in the stage's order."""
    if len(stage) == 1 or not parallel or not _shared_database(engine):
        for name in stage:
            yield name, run_job(engine, settings, name, full)
        return
    url = engine.url.render_as_string(hide_password=False)
    with ProcessPoolExecutor(len(stage) - 1, initializer=exit_with_parent) as pool:
        side: list[Future] = [pool.submit(_run_job_at, url, settings, name, full) for name in stage[1:]]
        here = run_job(engine, settings, stage[0], full)
        yield stage[0], here
        for name, future in zip(stage[1:], side):
            yield name, future.result()


def _run_job_at(url: str, settings: Settings, name: str, full: bool) -> tuple[dict, float]:
    """A child process's job, on a connection of its own (a forked pool is not shared)."""
    from monitor.store.db import create_engine

    engine = create_engine(url)
    try:
        return run_job(engine, settings, name, full)
    finally:
        engine.dispose()


def _shared_database(engine: Engine) -> bool:
    """Whether another process can open the same database (not SQLite in memory)."""
    if engine.dialect.name != "sqlite":
        return True
    database = engine.url.database or ""
    return database not in ("", ":memory:") and "mode=memory" not in str(engine.url)
