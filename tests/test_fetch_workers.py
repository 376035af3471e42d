"""Several `monitor fetch --worker` processes share one PostgreSQL queue through leases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.store import open_engine
from monitor.store.schema import articles, feeds, fetches
from test_fetch_support import Server, rss, static

FEEDS = 300


def write_config(tmp_path, server: Server) -> str:
    lines = ["topic:", "  name: t", "  languages: [en]", "feeds:"]
    lines += [f'  - {{name: f{i}, url: "{server.url(f"/f{i}")}", language: en}}' for i in range(FEEDS)]
    # Generous timeouts: the test is about leases, and a loaded CI machine must not time a feed out.
    lines += ["fetch: {connect_timeout: 3, read_timeout: 3, total_timeout: 6, retries: 0, "
              "host_delay: 0, per_host: 8, concurrency: 8}"]
    path = tmp_path / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def start_worker(config: str, db: str) -> subprocess.Popen:
    monitor = str(Path(sys.executable).parent / "monitor")
    return subprocess.Popen([monitor, "fetch", "--worker", "--json",
                             "--config", config, "--db", db], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": os.getcwd()})


@pytest.mark.postgres
def test_three_workers_one_killed_each_feed_recorded_once(pg_url, tmp_path):
    routes = {f"/f{i}": static(rss(f"F{i}", 1, f"f{i}-"), delay=0.02) for i in range(FEEDS)}
    with Server(routes) as server:
        config = write_config(tmp_path, server)
        engine = open_engine(pg_url)
        workers = [start_worker(config, pg_url) for _ in range(3)]
        while len(server.requests) < 30:   # let every worker get going, then kill one mid-run
            time.sleep(0.05)
        workers[0].send_signal(signal.SIGKILL)
        results = [w.wait(timeout=60) for w in workers[1:]]
    errors = [w.stderr.read().decode() for w in workers[1:]]
    assert results == [0, 0], [line for e in errors for line in e.splitlines() if "Error" in line]
    with engine.connect() as conn:
        outcomes = Counter(conn.execute(sa.select(fetches.c.feed_id).where(
            fetches.c.outcome == "ok")).scalars())
        leased = conn.execute(sa.select(sa.func.count()).select_from(feeds)
                              .where(feeds.c.lease_owner.is_not(None))).scalar_one()
        failed = conn.execute(sa.select(fetches.c.feed_id, fetches.c.error_message).where(
            fetches.c.outcome != "ok")).all()
        stored = conn.execute(sa.select(sa.func.count()).select_from(articles)).scalar_one()
    assert not failed
    assert len(outcomes) == FEEDS and set(outcomes.values()) == {1}   # nothing lost or doubled
    assert leased == 0 and stored == FEEDS
    hits = Counter(path for path, _ in server.requests)
    assert set(hits) == set(routes)
    assert sum(hits.values()) - FEEDS <= 8   # only the killed worker's in-flight feeds again
