"""Opening the database: engine set-up per backend and versioned migrations on open."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StorageError
from monitor.store import schema


def _v1_initial(conn: Connection) -> None:
    schema.metadata.create_all(conn)


# An ordered, append-only list. Never edit a released step; add a new one.
MIGRATIONS: list[tuple[int, Callable[[Connection], None]]] = [
    (1, _v1_initial),
]
LATEST_VERSION = MIGRATIONS[-1][0]


IN_LIST_SIZE = 500   # values per IN (...) list: well under SQLite's bound variable limit


def chunks(values: list, size: int = IN_LIST_SIZE) -> Iterator[list]:
    """`values` in slices of `size`, for statements with an IN (...) list of them."""
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _load_json(text: str | bytes) -> Any:
    """A JSON column's value; the strings of a list (an article's cached tokens) are
    interned, so 100,000 articles' tokens share one copy of each word instead of a few
    million separate strings (about 400 MB at that size)."""
    value = orjson.loads(text)
    if type(value) is list:
        try:
            return list(map(sys.intern, value))
        except TypeError:   # not a list of strings only
            return value
    return value


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def normalise_url(url: str) -> str:
    """Accept postgresql:// and postgres:// URLs and use psycopg 3 for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def create_engine(url: str) -> Engine:
    url = normalise_url(url)
    try:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:" and not Path(path).parent.exists():
                raise StorageError(f"{url}: the folder {Path(path).parent} does not exist")
            engine = sa.create_engine(url, connect_args={"timeout": 30}, json_deserializer=_load_json)
            sa.event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10,
                                json_deserializer=_load_json)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StorageError(f"{url}: cannot use this database URL: {exc}") from None


def migrate(engine: Engine) -> int:
    """Apply the migrations the database lacks; return the version it is at."""
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                # One migrator at a time when several workers start together.
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7432001)"))
            schema.schema_version.create(conn, checkfirst=True)
            current = conn.execute(sa.select(sa.func.max(schema.schema_version.c.version))).scalar() or 0
            if current > LATEST_VERSION:
                raise StorageError(
                    f"{engine.url.render_as_string(hide_password=True)}: schema version {current} "
                    f"is newer than this monitor ({LATEST_VERSION}); upgrade monitor")
            for version, step in MIGRATIONS:
                if version > current:
                    step(conn)
                    conn.execute(schema.schema_version.insert().values(version=version))
                    current = version
            return current
    except SQLAlchemyError as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise StorageError(f"{where}: cannot open the database: {_first_line(exc)}") from None


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def open_engine(url: str) -> Engine:
    """An engine on a database migrated to the latest schema."""
    engine = create_engine(url)
    migrate(engine)
    return engine


def insert_ignore(conn: Connection, table: sa.Table, rows: list[dict], keys: list[str]) -> int:
    """Insert rows, skipping those whose `keys` already exist; return how many were new."""
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    # RETURNING counts the rows really inserted; psycopg's executemany rowcount is -1.
    stmt = insert(table).on_conflict_do_nothing(index_elements=keys).returning(table.c[keys[0]])
    return len(conn.execute(stmt, rows).all())


def upsert(conn: Connection, table: sa.Table, rows: list[dict], keys: list[str]) -> None:
    """Insert rows, replacing the non-key columns of those that already exist."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table)
    updates = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_=updates) if updates \
        else stmt.on_conflict_do_nothing(index_elements=keys)
    conn.execute(stmt, rows)
