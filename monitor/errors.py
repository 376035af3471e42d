"""The exceptions monitor raises on purpose.

    MonitorError                 anything the user can fix; the CLI prints it as one line, exit 2
    ├── ConfigError              feeds.yaml is missing or invalid; carries every problem found
    ├── StorageError             the database cannot be opened, migrated or written
    ├── InputError               a path, option or file given on the command line is unusable
    └── FeedError                one feed failed; never stops the other feeds
        ├── TransientFetchError  timeouts, 5xx, 429, resets: retry later with back-off
        └── PermanentFetchError  410, repeated 404, not a feed: poll less often and flag

Programming errors (bugs) are left as ordinary exceptions so they show a traceback.
"""

from __future__ import annotations


class MonitorError(Exception):
    """An error the user can act on; its message names the file, line, feed or URL."""


class ConfigError(MonitorError):
    """feeds.yaml could not be loaded; `problems` lists each as `file:line: key: message`."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class StorageError(MonitorError):
    """The database is unreachable, has a newer schema than this code, or refused a write."""


class InputError(MonitorError):
    """A command-line argument or an input file is unusable."""


class FeedError(MonitorError):
    """One feed failed. `error_class` is one fixed reason string (see ingest.fetch)."""

    def __init__(self, message: str, *, error_class: str = "error", status: int | None = None):
        self.error_class = error_class
        self.status = status
        super().__init__(message)


class TransientFetchError(FeedError):
    """Worth retrying soon: timeouts, connection resets, 5xx, 429."""

    def __init__(self, message: str, *, error_class: str = "transient", status: int | None = None,
                 retry_after: float | None = None):
        self.retry_after = retry_after
        super().__init__(message, error_class=error_class, status=status)


class PermanentFetchError(FeedError):
    """Not worth retrying soon: 410 Gone, 404 repeated, HTML instead of a feed."""
