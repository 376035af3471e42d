"""One bounded request for a feed or a page: HTTP(S) via httpx, or a local file.

Every server is treated as possibly hostile:
- a total deadline per request (redirects included) cuts a server that drips bytes;
- the body is counted after decompression while it streams, and decompression itself is
  bounded, so a gzip or brotli bomb is cut at `max_bytes` and never expanded in memory;
- redirects are followed by hand: at most `max_redirects`, loops detected, http(s) only.

Failures raise TransientFetchError or PermanentFetchError with one fixed `error_class`:

    transient: timeout, connect_error, reset, server_error, rate_limited, not_found
    permanent: gone, client_error, too_large, redirect_loop, too_many_redirects,
               bad_url, bad_encoding, unreadable_file

(`not_found` is transient on its own; the scheduler turns a repeated one into a permanent
problem, see ingest.schedule.)
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import zlib
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import brotli
import httpx

from monitor.config import Fetch
from monitor.errors import PermanentFetchError, TransientFetchError
from monitor.ingest.pools import OriginPools
from monitor.models import FetchResult

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
IDLE_HOSTS = 256    # hosts whose idle keep-alive connections the client may keep open
KEEPALIVE_S = 15.0  # how long one may idle (servers commonly close after 5 to 60 s)
ACCEPT_FEEDS = ("application/rss+xml, application/atom+xml, application/feed+json, "
                "application/rdf+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8")


def make_client(settings: Fetch) -> httpx.AsyncClient:
    """One shared client: timeouts per phase, no automatic redirects or decoding tricks."""
    timeout = httpx.Timeout(connect=settings.connect_timeout, read=settings.read_timeout,
                            write=settings.read_timeout, pool=settings.total_timeout)
    # Requests in flight are bounded by ingest.politeness; the pools bound sockets per host.
    transport = OriginPools(per_host=settings.per_host, max_hosts=max(settings.concurrency, IDLE_HOSTS),
                            keepalive_s=KEEPALIVE_S)
    return httpx.AsyncClient(timeout=timeout, transport=transport, follow_redirects=False,
                             headers={"User-Agent": settings.user_agent}, trust_env=False)


async def fetch_feed(client: httpx.AsyncClient, url: str, settings: Fetch, *,
                     etag: str | None = None, last_modified: str | None = None,
                     content_hash: str | None = None) -> FetchResult:
    """Fetch `url` conditionally; a 304 or a body hashing to `content_hash` is not modified."""
    started = time.monotonic()
    scheme = urlsplit(url).scheme.lower()
    if scheme == "file":
        status, final_url, body, headers, moved = None, url, read_file(url, settings.max_bytes), {}, None
    elif scheme in ("http", "https"):
        conditional = {}
        if etag:
            conditional["If-None-Match"] = etag
        if last_modified:
            conditional["If-Modified-Since"] = last_modified
        status, final_url, body, headers, moved = await _with_deadline(
            _get(client, url, settings, conditional, ACCEPT_FEEDS), settings, url)
    else:
        raise PermanentFetchError(f"{url}: only http, https and file URLs are fetched",
                                  error_class="bad_url")
    duration_ms = int((time.monotonic() - started) * 1000)
    common = dict(url=final_url, status=status, headers=headers, permanent_redirect=moved,
                  etag=safe_validator(headers.get("etag")) or etag,
                  last_modified=safe_validator(headers.get("last-modified")) or last_modified,
                  retry_after=None, duration_ms=duration_ms)
    if status == 304:
        return FetchResult(body=b"", not_modified=True, content_hash=content_hash, **common)
    digest = hashlib.sha256(body).hexdigest()
    if content_hash and digest == content_hash:
        return FetchResult(body=b"", not_modified=True, content_hash=digest, **common)
    return FetchResult(body=body, content_hash=digest, **common)


async def fetch_page(client: httpx.AsyncClient, url: str, settings: Fetch) -> bytes:
    """The body of a web page (for full text), with the same bounds as a feed."""
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise PermanentFetchError(f"{url}: only http and https pages are fetched", error_class="bad_url")
    _, _, body, _, _ = await _with_deadline(
        _get(client, url, settings, {}, "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"),
        settings, url)
    return body


def read_file(url: str, max_bytes: int) -> bytes:
    """A file:// URL's bytes, refusing files larger than `max_bytes`."""
    path = Path(url2pathname(urlsplit(url).path))
    try:
        with path.open("rb") as handle:
            body = handle.read(max_bytes + 1)
    except OSError as exc:
        raise PermanentFetchError(f"{url}: cannot read: {exc.strerror or exc}",
                                  error_class="unreadable_file") from None
    if len(body) > max_bytes:
        raise PermanentFetchError(f"{url}: larger than {max_bytes} bytes", error_class="too_large")
    return body


def safe_validator(value: str | None) -> str | None:
    """An ETag or Last-Modified value fit to send back: short printable ASCII, else None
    (a hostile value must not be able to inject headers into our next request)."""
    if not value or len(value) > 512 or not all(32 <= ord(c) < 127 for c in value):
        return None
    return value


def parse_retry_after(value: str | None, cap: float, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), within [0, cap]."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return min(max(seconds, 0.0), cap)


async def _with_deadline(coro, settings: Fetch, url: str):
    try:
        async with asyncio.timeout(settings.total_timeout):
            return await coro
    except TimeoutError:
        raise TransientFetchError(f"{url}: no complete answer within {settings.total_timeout:g} s",
                                  error_class="timeout") from None


async def _get(client: httpx.AsyncClient, url: str, settings: Fetch, conditional: dict[str, str],
               accept: str) -> tuple[int, str, bytes, dict[str, str], str | None]:
    """Follow redirects by hand; return (status, final URL, body, headers, permanent URL)."""
    seen = {url}
    current, moved, still_permanent = url, None, True
    for _ in range(settings.max_redirects + 1):
        headers = {"Accept": accept, "Accept-Encoding": "gzip, deflate, br", **conditional}
        try:
            request = client.build_request("GET", current, headers=headers)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise PermanentFetchError(f"{current}: invalid URL: {exc}", error_class="bad_url") from None
        try:
            response = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise _network_error(current, exc) from None
        try:
            if response.status_code not in REDIRECT_STATUSES:
                response_headers = {k.lower(): v for k, v in response.headers.items()}
                _raise_for_status(current, response.status_code, response_headers, settings)
                body = b"" if response.status_code == 304 else await _read_body(response, settings, current)
                return response.status_code, current, body, response_headers, moved
            target = _redirect_target(current, response)
        finally:
            await response.aclose()
        if target in seen:
            raise PermanentFetchError(f"{url}: redirect loop at {target}", error_class="redirect_loop")
        seen.add(target)
        still_permanent = still_permanent and response.status_code in PERMANENT_REDIRECTS
        if still_permanent:
            moved = target
        current = target
    raise PermanentFetchError(f"{url}: more than {settings.max_redirects} redirects",
                              error_class="too_many_redirects")


def _redirect_target(current: str, response: httpx.Response) -> str:
    location = response.headers.get("location", "").strip()
    target = urljoin(current, location) if location else ""
    if urlsplit(target).scheme.lower() not in ("http", "https") or any(c in target for c in "\r\n"):
        raise PermanentFetchError(f"{current}: redirect to an unusable location {location[:200]!r}",
                                  error_class="bad_url")
    return target


def _raise_for_status(url: str, status: int, headers: dict[str, str], settings: Fetch) -> None:
    if status < 400 and status != 300:
        return
    retry_after = parse_retry_after(headers.get("retry-after"), settings.retry_after_cap)
    if status == 429:
        raise TransientFetchError(f"{url}: HTTP 429 too many requests", error_class="rate_limited",
                                  status=status, retry_after=retry_after)
    if status >= 500 or status == 408:
        raise TransientFetchError(f"{url}: HTTP {status}", error_class="server_error",
                                  status=status, retry_after=retry_after)
    if status == 404:
        raise TransientFetchError(f"{url}: HTTP 404 not found", error_class="not_found", status=status)
    if status == 410:
        raise PermanentFetchError(f"{url}: HTTP 410 gone", error_class="gone", status=status)
    raise PermanentFetchError(f"{url}: HTTP {status}", error_class="client_error", status=status)


def _network_error(url: str, exc: httpx.HTTPError) -> TransientFetchError | PermanentFetchError:
    if isinstance(exc, httpx.TimeoutException):
        return TransientFetchError(f"{url}: timed out ({type(exc).__name__})", error_class="timeout")
    if isinstance(exc, httpx.ConnectError):
        return TransientFetchError(f"{url}: cannot connect: {exc}", error_class="connect_error")
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return PermanentFetchError(f"{url}: {exc}", error_class="bad_url")
    return TransientFetchError(f"{url}: connection failed: {type(exc).__name__} {exc}",
                               error_class="reset")


async def _read_body(response: httpx.Response, settings: Fetch, url: str) -> bytes:
    """The decoded body, cut with `too_large` once it passes max_bytes (decoded)."""
    declared = response.headers.get("content-length", "")
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if declared.isdigit() and int(declared) > settings.max_bytes and encoding in ("", "identity"):
        raise _too_large(url, settings.max_bytes)
    decoder = BoundedDecoder(encoding, settings.max_bytes, url)
    try:
        async for chunk in _raw_chunks(response):
            decoder.feed(chunk)
    except httpx.HTTPError as exc:
        raise _network_error(url, exc) from None
    return decoder.finish()


async def _raw_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    async for chunk in response.aiter_raw(65536):
        yield chunk


def _too_large(url: str, limit: int) -> PermanentFetchError:
    return PermanentFetchError(f"{url}: body larger than {limit} bytes", error_class="too_large")


class BoundedDecoder:
    """Decodes gzip, deflate, br or identity bodies chunk by chunk, never producing more than
    `limit` bytes: each decompression step is asked for at most what is left of the limit."""

    def __init__(self, encoding: str, limit: int, url: str):
        self.url, self.limit = url, limit
        self.parts: list[bytes] = []
        self.size = 0
        self.encoding = encoding if encoding not in ("", "identity") else "identity"
        if self.encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(wbits=47)   # 32 + 15: gzip or zlib header
        elif self.encoding == "deflate":
            self._zlib = zlib.decompressobj(wbits=15)
            self._raw_deflate_possible = True
        elif self.encoding == "br":
            self._brotli = brotli.Decompressor()
        elif self.encoding != "identity":
            raise PermanentFetchError(f"{url}: unsupported content-encoding {encoding[:40]!r}",
                                      error_class="bad_encoding")

    def feed(self, data: bytes) -> None:
        try:
            if self.encoding == "identity":
                self._keep(data)
            elif self.encoding == "br":
                self._feed_brotli(data)
            else:
                self._feed_zlib(data)
        except (zlib.error, brotli.error) as exc:
            raise PermanentFetchError(f"{self.url}: corrupt {self.encoding} body: {exc}",
                                      error_class="bad_encoding") from None

    def finish(self) -> bytes:
        if self.encoding in ("gzip", "x-gzip", "deflate"):
            self._keep(self._zlib.flush())
        return b"".join(self.parts)

    def _room(self) -> int:
        return self.limit - self.size + 1   # one byte more than allowed reveals an overflow

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise _too_large(self.url, self.limit)
        if data:
            self.parts.append(data)

    def _feed_zlib(self, data: bytes) -> None:
        if self.encoding == "deflate" and getattr(self, "_raw_deflate_possible", False):
            self._raw_deflate_possible = False
            try:
                self._keep(self._zlib.decompress(data, self._room()))
            except zlib.error:   # some servers send raw deflate without the zlib header
                self._zlib = zlib.decompressobj(wbits=-15)
                self._keep(self._zlib.decompress(data, self._room()))
            data = self._zlib.unconsumed_tail
        while data:
            self._keep(self._zlib.decompress(data, self._room()))
            data = self._zlib.unconsumed_tail

    def _feed_brotli(self, data: bytes) -> None:
        self._keep(self._brotli.process(data, output_buffer_limit=self._room()))
        while not self._brotli.can_accept_more_data():
            self._keep(self._brotli.process(b"", output_buffer_limit=self._room()))
