"""Connection pools per origin for the shared fetch client.

httpcore's single pool scans every connection it holds on each request, so one pool large
enough to keep a connection alive to each of hundreds of hosts costs more CPU than it
saves; one small enough to stay cheap (a few dozen sockets) evicts a host's connection
before its next feed comes up, and every request pays for a new connection. A small pool
per origin keeps both costs flat: a host's next feed reuses its socket and each lookup sees
only that host's few connections. The least recently used idle pools are closed beyond
`max_hosts`, so thousands of hosts never pile up open sockets.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Callable

import httpx

Origin = tuple[bytes, bytes, int | None]


class OriginPools(httpx.AsyncBaseTransport):
    """An httpx transport routing each request to its origin's own small connection pool."""

    def __init__(self, per_host: int, max_hosts: int, keepalive_s: float):
        self._ssl = httpx.create_ssl_context()   # built once: loading CA certificates is slow
        self._limits = httpx.Limits(max_connections=per_host, max_keepalive_connections=per_host,
                                    keepalive_expiry=keepalive_s)
        self._max_hosts = max_hosts
        self._pools: OrderedDict[Origin, httpx.AsyncHTTPTransport] = OrderedDict()
        self._busy: Counter[Origin] = Counter()   # responses not yet closed, per origin

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        origin = (request.url.raw_scheme, request.url.raw_host, request.url.port)
        pool = await self._pool(origin)
        self._busy[origin] += 1
        try:
            response = await pool.handle_async_request(request)
        except BaseException:
            self._release(origin)
            raise
        stream = _ReleasingStream(response.stream, lambda: self._release(origin))
        return httpx.Response(response.status_code, headers=response.headers, stream=stream,
                              extensions=response.extensions)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            await pool.aclose()

    async def _pool(self, origin: Origin) -> httpx.AsyncHTTPTransport:
        pool = self._pools.get(origin)
        if pool is None:
            pool = httpx.AsyncHTTPTransport(verify=self._ssl, limits=self._limits, trust_env=False)
            self._pools[origin] = pool
            await self._close_idle_beyond_limit(keep=origin)
        self._pools.move_to_end(origin)
        return pool

    async def _close_idle_beyond_limit(self, keep: Origin) -> None:
        excess = len(self._pools) - self._max_hosts
        if excess <= 0:
            return
        idle = [o for o in self._pools if o != keep and not self._busy[o]]
        for origin in idle[:excess]:
            await self._pools.pop(origin).aclose()

    def _release(self, origin: Origin) -> None:
        self._busy[origin] -= 1
        if not self._busy[origin]:
            del self._busy[origin]


class _ReleasingStream(httpx.AsyncByteStream):
    """A response body that tells its pool router when it is closed."""

    def __init__(self, stream: httpx.AsyncByteStream, release: Callable[[], None]):
        self._stream, self._release, self._released = stream, release, False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if not self._released:
                self._released = True
                self._release()
