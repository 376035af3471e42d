"""Storage: the schema, migrations and named queries. All SQL of monitor lives here."""

from monitor.store.db import open_engine

__all__ = ["open_engine"]
