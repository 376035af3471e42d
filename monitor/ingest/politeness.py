"""How hard we may hit the web: a global limit, a per-host limit and a gap between requests
to one host. A "host" is the URL's host and port, so two services on one machine at
different ports count as two hosts (as browsers count origins)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit


def host_key(url: str) -> str:
    """host:port of an http(s) URL, lower-cased; "" for file URLs (never throttled)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return ""
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    return f"{(parts.hostname or '').lower()}:{port}"


class Politeness:
    """Hands out request slots: at most `per_host` requests in flight to one host, at most
    `concurrency` overall, and request starts to one host at least `host_delay` apart."""

    def __init__(self, concurrency: int, per_host: int, host_delay: float):
        self.per_host = per_host
        self.host_delay = host_delay
        self._global = asyncio.Semaphore(concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._turn_locks: dict[str, asyncio.Lock] = {}
        self._last_start: dict[str, float] = {}

    @asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        """Hold this while requesting `url`."""
        host = host_key(url)
        if not host:
            async with self._global:
                yield
            return
        # The host slot first: a task queued behind a busy host must not hold a global slot.
        async with self._host_semaphore(host):
            await self._wait_turn(host)
            async with self._global:
                yield

    def _host_semaphore(self, host: str) -> asyncio.Semaphore:
        if host not in self._hosts:
            self._hosts[host] = asyncio.Semaphore(self.per_host)
            self._turn_locks[host] = asyncio.Lock()
        return self._hosts[host]

    async def _wait_turn(self, host: str) -> None:
        async with self._turn_locks[host]:
            last = self._last_start.get(host)
            if last is not None:
                wait = last + self.host_delay - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            self._last_start[host] = time.monotonic()
