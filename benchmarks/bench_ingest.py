"""Benchmark: `monitor ingest` of 10,000 items from local files, end to end (parse,
normalise, language, dedup, store into SQLite), against `feedparser.parse` alone on the same
files. Both run as whole processes (imports and start-up included), in the same run.

    .venv/bin/python benchmarks/bench_ingest.py [--files 100] [--items 100] [--repeat 3]

Prints items/second for each and the ratio to feedparser alone (target <= 1.2; stretch:
with a process pool on 2 cores the whole ingest beats single-process feedparser), by wall
time and by CPU time (user + system of the process and its workers). On a shared machine
the CPU figures are the steadier ones; the wall ones are what a user waits.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_feeds import write_feeds  # noqa: E402

FEEDPARSER_ONLY = """
import io, sys, pathlib, feedparser
n = 0
for path in sorted(pathlib.Path(sys.argv[1]).glob('*.xml')):
    n += len(feedparser.parse(io.BytesIO(path.read_bytes()),
                              response_headers={'content-type': 'application/xml'}).entries)
print(n)
"""

CONFIG = "topic:\n  name: bench\n  languages: [en, ru, zh]\n"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one whole process, its worker processes included."""
    cpu, started = _children_cpu(), time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started, _children_cpu() - cpu


def ingest_cmd(feeds: Path, work: Path, run: int, workers: int) -> list[str]:
    db = work / f"bench-{workers}-{run}.db"
    return [sys.executable, "-c", "from monitor.cli import run; run()", "--config", str(work / "feeds.yaml"),
            "--db", f"sqlite:///{db}", "ingest", str(feeds), "--workers", str(workers), "--json"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    items = args.files * args.items
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        feeds = work / "feeds"
        write_feeds(feeds, args.files, args.items)
        (work / "feeds.yaml").write_text(CONFIG, encoding="utf-8")
        results: dict[str, list[tuple[float, float]]] = {"feedparser.parse alone": [], "monitor ingest --workers 1": [],
                                           "monitor ingest --workers 2": []}
        for run in range(args.repeat):
            results["feedparser.parse alone"].append(
                timed([sys.executable, "-c", FEEDPARSER_ONLY, str(feeds)], env))
            for workers in (1, 2):
                results[f"monitor ingest --workers {workers}"].append(
                    timed(ingest_cmd(feeds, work, run, workers), env))
    base_wall = statistics.median(w for w, _ in results["feedparser.parse alone"])
    base_cpu = statistics.median(c for _, c in results["feedparser.parse alone"])
    print(f"{items} items in {args.files} files, {os.cpu_count()} cores, median of {args.repeat}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'':32} {'wall s':>7} {'items/s':>8} {'ratio':>6} {'CPU s':>7} {'ratio':>6}")
    for name, times in results.items():
        wall = statistics.median(w for w, _ in times)
        cpu = statistics.median(c for _, c in times)
        print(f"{name:32} {wall:7.2f} {items / wall:8.0f} {wall / base_wall:6.2f} "
              f"{cpu:7.2f} {cpu / base_cpu:6.2f}")


if __name__ == "__main__":
    main()
