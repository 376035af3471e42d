"""`monitor dashboard` as a user runs it: a real server on 127.0.0.1 that stops with its parent."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from dashboard_fixtures import build_dashboard_db
from monitor.cli.setup import starter_config

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening_addresses(port: int) -> list[str]:
    """IPv4/IPv6 addresses listening on `port`, read from the kernel's socket tables."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:   # 0A: LISTEN
                found.append(socket.inet_ntoa(bytes.fromhex(address)[::-1]) if len(address) == 8 else address)
    return found


def _monitor(*args: str, **kwargs) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.Popen([sys.executable, "-m", "monitor", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_dashboard_serves_on_loopback_and_stops_with_sigterm(tmp_path):
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    build_dashboard_db(url)
    config = tmp_path / "feeds.yaml"
    config.write_text(starter_config(), encoding="utf-8")
    port = _free_port()
    process = _monitor("--config", str(config), "--db", url, "dashboard", "--port", str(port))
    try:
        first_line = process.stdout.readline()
        assert first_line.strip() == f"dashboard: http://127.0.0.1:{port}/  (bound to 127.0.0.1; Ctrl-C to stop)"
        assert httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=5).text == "ok"
        assert _listening_addresses(port) == ["127.0.0.1"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:   # the Streamlit child went down with it
        try:
            httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
        except httpx.HTTPError:
            break
        time.sleep(0.3)
    else:
        raise AssertionError("the Streamlit server outlived `monitor dashboard`")


def test_dashboard_with_an_unusable_database_fails_in_one_line(tmp_path):
    config = tmp_path / "feeds.yaml"
    config.write_text(starter_config(), encoding="utf-8")
    process = _monitor("--config", str(config), "--db", f"sqlite:///{tmp_path / 'missing' / 'x.db'}", "dashboard")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2 and out == ""
    assert err.startswith("error: ") and "does not exist" in err and len(err.strip().splitlines()) == 1
