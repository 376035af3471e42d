"""Scale of `monitor analyze`: a full run over N synthetic articles, then an incremental run
after M new ones. Each run happens in a fresh child process so its peak RSS is its own.

    .venv/bin/python benchmarks/bench_analyze_scale.py --articles 100000 --new 1000
    .venv/bin/python benchmarks/bench_analyze_scale.py --untimed relevance --jobs stories,themes

Targets (issue 7): full run <= 60 s and <= 2 GB peak; incremental <= 10% of the full run.
After the full run it also scores the stories against the events the generator planted.
Articles come from benchmarks/datagen.py and are inserted directly (ingest is measured by
bench_ingest.py); the topic is the starter feeds.yaml's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.datagen import generate_articles, insert_articles, planted_event  # noqa: E402
from monitor.analyze.runner import JOBS  # noqa: E402
from monitor.cli.setup import starter_config  # noqa: E402
from monitor.store import open_engine  # noqa: E402
from monitor.store.schema import articles  # noqa: E402


def child(config: Path, db_url: str, full: bool, jobs: list[str]) -> None:
    """Run the analysis jobs once; print their timings and this process's peak RSS as JSON."""
    import importlib

    from monitor.analyze.runner import run_analysis
    from monitor.config import load_settings

    steps: dict[str, float] = {}
    cpu: dict[str, float] = {}
    results: dict[str, dict] = {}
    settings = load_settings(config)
    engine = open_engine(db_url)
    started = time.perf_counter()
    if jobs == JOBS:
        # The whole analysis as `monitor analyze` runs it: stages, stories and themes side
        # by side, so per-job CPU is not separable; the total is.
        def step(name: str, counts: dict, seconds: float) -> None:
            results[name], steps[name] = counts, round(seconds, 2)

        cpu_begun = _cpu_seconds()
        run_analysis(engine, settings, full=full, on_step=step)
        cpu["all jobs"] = round(_cpu_seconds() - cpu_begun, 2)
    else:
        for name in jobs:
            begun, cpu_begun = time.perf_counter(), _cpu_seconds()
            results[name] = importlib.import_module(f"monitor.analyze.jobs.{name}").run(engine, settings, full=full)
            steps[name] = round(time.perf_counter() - begun, 2)
            cpu[name] = round(_cpu_seconds() - cpu_begun, 2)
    total = time.perf_counter() - started
    peak_mb = _own_peak_mb()
    # The largest child: a worker of relevance or framing, or the side job of a stage (which
    # runs while this process holds its own peak, so the two together bound the memory).
    worker_peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"seconds": round(total, 2), "steps": steps, "cpu": cpu, "peak_mb": round(peak_mb),
                      "worker_peak_mb": round(worker_peak_mb),
                      "counts": {k: {n: v for n, v in c.items() if not isinstance(v, (dict, list))}
                                 for k, c in results.items()}}))


def _own_peak_mb() -> float:
    """This process's peak resident memory since it started. Linux's ru_maxrss would also
    count the spawning process's memory at the fork before exec (the benchmark's parent
    holds the generated rows), so the kernel's high-water mark of this image is read."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    """User + system CPU of this process and of its finished worker processes: on a shared
    machine, wall time says more about the neighbours than about the code."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def run_child(config: Path, db_url: str, full: bool, jobs: list[str]) -> dict:
    command = [sys.executable, "-W", "ignore", __file__, "--child", "full" if full else "incremental",
               "--config", str(config), "--db", db_url, "--jobs", ",".join(jobs)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def _story_quality(engine, rows: list[dict]) -> float:
    """B-cubed F1 of the stories of the grouped articles against the planted events (an
    article in no event is a story of its own)."""
    # Imported here: that module imports scikit-learn, and the timed child processes (this
    # same file) must pay for that import inside the timed run, as `monitor analyze` does.
    from benchmarks.bench_wikiref_stories import bcubed_f1

    gold = {row["id"]: f"event:{event}" if (event := planted_event(row["summary"])) else "noise"
            for row in rows}
    with engine.connect() as conn:
        stories = dict(conn.execute(sa.select(articles.c.id, articles.c.story_id)
                                    .where(articles.c.story_id.is_not(None))).all())
    return bcubed_f1(stories, {i: gold[i] for i in stories})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=1_000)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--db", help="database URL (default: a SQLite file in a temporary folder)")
    parser.add_argument("--config")
    parser.add_argument("--jobs", default="relevance,stories,themes,framing",
                        help="analysis jobs to time, in runner order (default: all, run as "
                             "`monitor analyze` runs them, stories and themes side by side)")
    parser.add_argument("--untimed", default="",
                        help="jobs run once before timing (e.g. relevance, when timing stories,themes)")
    parser.add_argument("--child", choices=["full", "incremental"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    jobs = [j for j in args.jobs.split(",") if j]
    untimed = [j for j in args.untimed.split(",") if j]
    if args.child:
        child(Path(args.config), args.db, args.child == "full", jobs)
        return
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "feeds.yaml"
        config.write_text(starter_config(), encoding="utf-8")
        db_url = args.db or f"sqlite:///{folder}/monitor.db"
        engine = open_engine(db_url)
        rows = generate_articles(args.articles, feeds=args.feeds, seed=0)
        started = time.perf_counter()
        insert_articles(engine, rows)
        print(f"{args.articles} articles inserted in {time.perf_counter() - started:.1f}s")
        if untimed:
            run_child(config, db_url, True, untimed)
        full = run_child(config, db_url, True, jobs)
        print(f"load average {os.getloadavg()[0]:.1f} (1 min)")
        print(f"full run:        {full['seconds']:6.1f}s  peak {full['peak_mb']} MB "
              f"(largest worker {full['worker_peak_mb']} MB)  {full['steps']}")
        print(f"                 CPU seconds {full['cpu']}")
        print(f"                 {full['counts']}")
        if "stories" in jobs:
            print(f"stories against the planted events: B-cubed F1 {_story_quality(engine, rows):.3f}")
        last = max(row["published_at"] for row in rows)
        new_rows = generate_articles(args.new, feeds=args.feeds, seed=1, start=last - timedelta(days=2), days=7)
        insert_articles(engine, new_rows)
        if untimed:
            run_child(config, db_url, False, untimed)
        incremental = run_child(config, db_url, False, jobs)
        print(f"incremental run: {incremental['seconds']:6.1f}s  peak {incremental['peak_mb']} MB "
              f"(largest worker {incremental['worker_peak_mb']} MB)  {incremental['steps']}")
        print(f"                 CPU seconds {incremental['cpu']}")
        print(f"                 {incremental['counts']}")
        print(f"incremental / full = {incremental['seconds'] / full['seconds']:.3f} wall, "
              f"{sum(incremental['cpu'].values()) / sum(full['cpu'].values()):.3f} CPU")
        grouping = {k: full["steps"].get(k, 0) for k in ("stories", "themes")}
        together = "side by side" if jobs == JOBS else "in turn"
        print(f"stories and themes in the full run ({together}): {grouping}")


if __name__ == "__main__":
    main()
