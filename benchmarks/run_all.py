"""Run every benchmarks/bench_*.py script in turn and print a summary (`make bench`).

Each script runs in its own interpreter from the repository root, its output shown as it
comes; a failing script does not stop the others. The summary gives each script's exit
status, wall time, CPU time and peak memory (the largest process it ran), and the exit
code is 1 when any script failed.

    python benchmarks/run_all.py                  # everything (can take a long while)
    python benchmarks/run_all.py --only ingest,fetch
    python benchmarks/run_all.py --list
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@dataclass(frozen=True)
class Outcome:
    """How one benchmark script ended."""

    script: str
    status: str          # ok, failed (exit N), timed out, interrupted
    wall_s: float
    cpu_s: float
    peak_mb: float

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def bench_scripts(only: list[str], skip: list[str]) -> list[Path]:
    """bench_*.py files, sorted, kept when their name contains an --only word (if any) and
    no --skip word."""
    scripts = sorted(HERE.glob("bench_*.py"))
    if only:
        scripts = [s for s in scripts if any(word in s.stem for word in only)]
    return [s for s in scripts if not any(word in s.stem for word in skip)]


def run_script(script: Path, timeout: float | None, extra_env: dict[str, str]) -> Outcome:
    """Run one script to its end (or its timeout) and measure it with wait4's usage record."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-W", "ignore", str(script)], cwd=ROOT,
                               env={**os.environ, **extra_env}, start_new_session=True)
    timer = threading.Timer(timeout, _kill_group, (process.pid,)) if timeout else None
    if timer:
        timer.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)
    except KeyboardInterrupt:
        _kill_group(process.pid)
        _, status, usage = os.wait4(process.pid, 0)
        raise
    finally:
        if timer:
            timer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)   # already reaped: tell Popen
    wall = time.perf_counter() - started
    return Outcome(script=script.name, status=_status(process.returncode, timer),
                   wall_s=wall, cpu_s=usage.ru_utime + usage.ru_stime,
                   peak_mb=usage.ru_maxrss / 1024)   # Linux reports KiB


def _kill_group(pid: int) -> None:
    """Stop a script and whatever it started (it leads its own process group)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _status(code: int, timer: threading.Timer | None) -> str:
    if code == 0:
        return "ok"
    if timer is not None and code == -signal.SIGKILL and timer.finished.is_set():
        return "timed out"
    return f"failed (exit {code})"


def summary(outcomes: list[Outcome]) -> str:
    """A plain-text table of the outcomes."""
    width = max([len(o.script) for o in outcomes] + [6])
    lines = [f"{'script':<{width}}  {'status':<16}  {'wall s':>8}  {'cpu s':>8}  {'peak MB':>8}"]
    for o in outcomes:
        lines.append(f"{o.script:<{width}}  {o.status:<16}  {o.wall_s:8.1f}  {o.cpu_s:8.1f}  "
                     f"{o.peak_mb:8.0f}")
    failed = sum(not o.ok for o in outcomes)
    total = sum(o.wall_s for o in outcomes)
    lines.append(f"{len(outcomes)} scripts, {failed} failed, {total:.0f} s in all; "
                 f"machine: {os.cpu_count()} cores")
    return "\n".join(lines)


def _words(value: str) -> list[str]:
    return [w.strip() for w in value.split(",") if w.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", type=_words, default=[],
                        help="comma-separated words: run only scripts whose name contains one")
    parser.add_argument("--skip", type=_words, default=[],
                        help="comma-separated words: skip scripts whose name contains one")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds after which a script is stopped (default: none)")
    parser.add_argument("--list", action="store_true", help="list the scripts and exit")
    args = parser.parse_args(argv)
    scripts = bench_scripts(args.only, args.skip)
    if args.list or not scripts:
        print("\n".join(s.name for s in scripts) or "no benchmark script matches")
        return 0 if scripts or args.list else 2
    outcomes: list[Outcome] = []
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        try:
            outcomes.append(run_script(script, args.timeout, {"PYTHONUNBUFFERED": "1"}))
        except KeyboardInterrupt:
            outcomes.append(Outcome(script.name, "interrupted", 0.0, 0.0, 0.0))
            break
    print("\n=== summary ===")
    print(summary(outcomes))
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
