"""Named queries about feeds: their rows, health, scheduling and the fetch log."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.models import FeedRef
from monitor.store.schema import feeds, fetches


def ensure_feed(conn: Connection, ref: FeedRef, *, enabled: bool = True) -> int:
    """The id of the feed row named `ref.name`, created or its metadata refreshed."""
    row = conn.execute(sa.select(feeds.c.id, feeds.c.config_url).where(feeds.c.name == ref.name)).first()
    values = {"outlet": ref.outlet, "group_name": ref.group, "language": ref.language,
              "country": ref.country, "enabled": enabled}
    if row is None:
        result = conn.execute(feeds.insert().values(
            name=ref.name, url=ref.url, config_url=ref.url, **values))
        return int(result.inserted_primary_key[0])
    if row.config_url != ref.url:
        # feeds.yaml now names another URL: it wins over a remembered redirect.
        values.update(url=ref.url, config_url=ref.url, etag=None, last_modified=None, content_hash=None)
    conn.execute(feeds.update().where(feeds.c.id == row.id).values(**values))
    return int(row.id)


def sync_feeds(conn: Connection, refs: Iterable[tuple[FeedRef, bool]]) -> dict[str, int]:
    """Make the feeds table match feeds.yaml (name -> id). Feeds removed from the file are
    disabled, never deleted: their articles and history stay.

    A few bulk statements whatever the number of feeds: one read of the known rows, one
    multi-row insert for new feeds, and updates only for rows whose settings changed."""
    wanted = {ref.name: (ref, enabled) for ref, enabled in refs}
    if not wanted:
        return {}
    known = {row.name: row for row in conn.execute(
        sa.select(feeds.c.id, feeds.c.name, *_SYNCED_COLUMNS).where(feeds.c.name.in_(list(wanted))))}
    new_rows, changes = [], []
    for name, (ref, enabled) in wanted.items():
        values = _synced_values(ref, enabled)
        row = known.get(name)
        if row is None:
            new_rows.append({"name": name, "url": ref.url, **values})
            continue
        if row.config_url != ref.url:
            # feeds.yaml now names another URL: it wins over a remembered redirect.
            changes.append((row.id, {**values, "url": ref.url, "etag": None,
                                     "last_modified": None, "content_hash": None}))
        elif any(getattr(row, key) != value for key, value in values.items()):
            changes.append((row.id, values))
    if new_rows:
        conn.execute(feeds.insert(), new_rows)
    for feed_id, values in changes:
        conn.execute(feeds.update().where(feeds.c.id == feed_id).values(**values))
    ids = {name: int(feed_id) for name, feed_id in conn.execute(
        sa.select(feeds.c.name, feeds.c.id).where(feeds.c.name.in_(list(wanted))))}
    conn.execute(feeds.update().where(feeds.c.name.not_in(list(ids)))
                 .where(feeds.c.name.not_like("ingest:%")).values(enabled=False))
    return ids


_SYNCED_COLUMNS = (feeds.c.config_url, feeds.c.outlet, feeds.c.group_name, feeds.c.language,
                   feeds.c.country, feeds.c.enabled)


def _synced_values(ref: FeedRef, enabled: bool) -> dict:
    """The columns feeds.yaml decides, as `ensure_feed` writes them."""
    return {"config_url": ref.url, "outlet": ref.outlet, "group_name": ref.group,
            "language": ref.language, "country": ref.country, "enabled": enabled}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# --- fetching: which feeds are due, what each attempt gave, and the feeds' health ---

FEED_COLUMNS = (feeds.c.id, feeds.c.name, feeds.c.url, feeds.c.config_url, feeds.c.outlet,
                feeds.c.group_name, feeds.c.language, feeds.c.country, feeds.c.etag,
                feeds.c.last_modified, feeds.c.content_hash, feeds.c.last_success_at,
                feeds.c.consecutive_failures, feeds.c.last_error_class, feeds.c.entries_per_day,
                feeds.c.ttl_minutes, feeds.c.next_due_at, feeds.c.flagged)


def feeds_to_fetch(conn: Connection, names: Iterable[str], *, now: datetime,
                   due_only: bool = True) -> list[sa.Row]:
    """Enabled feeds among `names`, only those due at `now` unless `due_only` is False."""
    query = (sa.select(*FEED_COLUMNS).where(feeds.c.enabled.is_(True))
             .where(feeds.c.name.in_(list(names))).order_by(feeds.c.id))
    if due_only:
        query = query.where(_is_due(now))
    return list(conn.execute(query))


def _is_due(now: datetime):
    return sa.or_(feeds.c.next_due_at.is_(None), feeds.c.next_due_at <= now)


def claim_due_feeds(conn: Connection, names: Iterable[str], *, worker: str, now: datetime,
                    lease_s: float, limit: int) -> list[sa.Row]:
    """Lease up to `limit` due, unleased (or lease-expired) feeds to `worker`.

    On PostgreSQL the candidate rows are locked with FOR UPDATE SKIP LOCKED, so workers
    claiming at the same moment take disjoint feeds without waiting on each other. On
    SQLite the single writer lock gives the same guarantee."""
    free = sa.or_(feeds.c.lease_until.is_(None), feeds.c.lease_until < now)
    candidates = (sa.select(feeds.c.id).where(feeds.c.enabled.is_(True))
                  .where(feeds.c.name.in_(list(names))).where(_is_due(now)).where(free)
                  .order_by(feeds.c.next_due_at.nulls_first(), feeds.c.id).limit(limit)
                  .with_for_update(skip_locked=True))
    ids = list(conn.execute(candidates).scalars())
    if not ids:
        return []
    conn.execute(feeds.update().where(feeds.c.id.in_(ids)).where(free)
                 .values(lease_owner=worker, lease_until=now + timedelta(seconds=lease_s)))
    return list(conn.execute(sa.select(*FEED_COLUMNS).where(feeds.c.id.in_(ids))
                             .where(feeds.c.lease_owner == worker).order_by(feeds.c.id)))


def pending_feed_count(conn: Connection, names: Iterable[str], *, now: datetime) -> int:
    """Enabled feeds still due at `now`, leased or not (a worker waits for these)."""
    return conn.execute(sa.select(sa.func.count()).select_from(feeds)
                        .where(feeds.c.enabled.is_(True)).where(feeds.c.name.in_(list(names)))
                        .where(_is_due(now))).scalar_one()


def holds_lease(conn: Connection, feed_id: int, worker: str) -> bool:
    """Whether `worker` still holds the feed's lease (locks the row until commit on PostgreSQL)."""
    owner = conn.execute(sa.select(feeds.c.lease_owner).where(feeds.c.id == feed_id)
                         .with_for_update()).scalar()
    return owner == worker


def record_attempts(conn: Connection, feed_id: int, attempts: list[dict], health: dict) -> None:
    """Log a feed's fetch attempts, update its health and schedule and release its lease."""
    if attempts:
        conn.execute(fetches.insert(), [{"feed_id": feed_id, **attempt} for attempt in attempts])
    conn.execute(feeds.update().where(feeds.c.id == feed_id)
                 .values(lease_owner=None, lease_until=None, **health))


def feed_health(conn: Connection) -> list[dict]:
    """Every enabled feed's health, failing feeds first, then by name."""
    rows = conn.execute(sa.select(
        feeds.c.name, feeds.c.url, feeds.c.config_url, feeds.c.last_attempt_at,
        feeds.c.last_success_at, feeds.c.last_status, feeds.c.consecutive_failures,
        feeds.c.flagged, feeds.c.last_error_class, feeds.c.last_error, feeds.c.parse_warning,
        feeds.c.next_due_at, feeds.c.poll_interval_s, feeds.c.entries_per_day)
        .where(feeds.c.enabled.is_(True))
        .order_by(sa.desc(feeds.c.consecutive_failures > 0), sa.desc(feeds.c.flagged), feeds.c.name))
    return [dict(row._mapping) for row in rows]


def fetch_log(conn: Connection, feed_id: int | None = None) -> list[dict]:
    """Fetch attempts, oldest first (all feeds, or one)."""
    query = sa.select(fetches).order_by(fetches.c.id)
    if feed_id is not None:
        query = query.where(fetches.c.feed_id == feed_id)
    return [dict(row._mapping) for row in conn.execute(query)]


def lock_feed_sync(conn: Connection) -> None:
    """Serialise `sync_feeds` among workers starting together (PostgreSQL; SQLite's writer
    lock does it already). Held until the transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(7432002)"))
