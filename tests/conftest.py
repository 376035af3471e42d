"""Shared fixtures: databases (SQLite always, PostgreSQL when CI provides one) and data paths."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
PG_ENV = "MONITOR_TEST_DATABASE_URL"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or a skip saying why (it is absent on a user's fresh clone)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent: the shared evaluation data ships only with CI")
    return SHARED_DATA


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'monitor.db'}"


def _pg_admin_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set: no PostgreSQL server to test against (.ci/run starts one)")
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture
def pg_url() -> str:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    admin_url = _pg_admin_url()
    name = f"monitor_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request) -> str:
    """Run a storage test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@dataclass(frozen=True)
class DemoSite:
    first: object          # monitor.demo.run.DemoResult of the first run
    second: object         # ... of a second run in the same folder
    config_path: Path
    db_url: str


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory) -> DemoSite:
    """`monitor demo` run twice in one folder (the second must reuse the first's work), then a
    hostile feed ingested and analysed. Shared by the demo and browser tests: the real
    pipeline on the bundled corpus takes a while, so it runs once per session."""
    from dashboard_fixtures import add_hostile_feed
    from monitor.demo.run import run_demo

    directory = tmp_path_factory.mktemp("demo")
    first = run_demo(directory, echo=lambda line: None)
    second = run_demo(directory, echo=lambda line: None)
    add_hostile_feed(first.config_path, first.db_url)
    return DemoSite(first, second, first.config_path, first.db_url)
