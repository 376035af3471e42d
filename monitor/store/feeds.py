"""Named queries about feeds: their rows, health, scheduling and the fetch log."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.models import FeedRef
from monitor.store.schema import feeds


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
    disabled, never deleted: their articles and history stay."""
    ids = {ref.name: ensure_feed(conn, ref, enabled=enabled) for ref, enabled in refs}
    if ids:
        conn.execute(feeds.update().where(feeds.c.name.not_in(list(ids)))
                     .where(feeds.c.name.not_like("ingest:%")).values(enabled=False))
    return ids


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
