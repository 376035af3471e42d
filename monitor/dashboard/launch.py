"""Starting the dashboard: `streamlit run` on 127.0.0.1 with the monitor's config and database.

The server binds to loopback only; to share it, put a reverse proxy with authentication
in front, or configure Streamlit's OIDC login (see docs/dashboard.md).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from monitor.config import ENV_CONFIG, ENV_DB_URL
from monitor.errors import MonitorError

APP = Path(__file__).resolve().parent / "app.py"
HOST = "127.0.0.1"


def streamlit_command(port: int) -> list[str]:
    """The `streamlit run` command line: loopback, headless, no telemetry, no file watching."""
    return [sys.executable, "-m", "streamlit", "run", str(APP),
            f"--server.address={HOST}", f"--server.port={port}", "--server.headless=true",
            "--server.fileWatcherType=none", "--server.runOnSave=false",
            "--browser.gatherUsageStats=false", "--client.toolbarMode=minimal",
            "--theme.base=light"]


def start_dashboard(config_path: Path, db_url: str, port: int = 8501, *,
                    log: Path | None = None) -> subprocess.Popen:
    """Start the server in the background (its output goes to `log`, else is discarded)."""
    env = {**os.environ, ENV_CONFIG: str(Path(config_path).resolve()), ENV_DB_URL: db_url,
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    output = open(log, "ab") if log else subprocess.DEVNULL
    try:
        return subprocess.Popen(streamlit_command(port), env=env, stdout=output, stderr=subprocess.STDOUT)
    finally:
        if log:
            output.close()


def wait_until_ready(process: subprocess.Popen, port: int, timeout: float = 60.0) -> str:
    """The dashboard's URL once its health check answers; MonitorError if it dies or stalls."""
    url = f"http://{HOST}:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise MonitorError(f"the dashboard exited with status {process.returncode} "
                               f"(is port {port} already in use?)")
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=2.0).status_code == 200:
                return url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise MonitorError(f"the dashboard did not answer on {url} within {timeout:.0f}s")


def stop_dashboard(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """Stop the server: SIGTERM, then SIGKILL if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve_dashboard(config_path: Path, db_url: str, port: int = 8501,
                    echo: Callable[[str], None] = print, view: str = "") -> None:
    """Run the dashboard until Ctrl-C, printing its URL once it is up; `view` is a query
    string of filters (e.g. "from=2014-01-01&to=2026-11-27") added to the printed URL."""
    process = start_dashboard(config_path, db_url, port)
    # A service manager stops us with SIGTERM: treat it like Ctrl-C so the server goes too.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        url = wait_until_ready(process, port)
        echo(f"dashboard: {url.rstrip('/')}/{'?' + view if view else ''}  (bound to {HOST}; Ctrl-C to stop)")
        process.wait()
    except KeyboardInterrupt:
        echo("stopping the dashboard")
    finally:
        stop_dashboard(process)
        signal.signal(signal.SIGTERM, previous)


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt
