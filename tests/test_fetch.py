"""ingest.fetch against real servers on 127.0.0.1: conditional GET, bounds, redirects and
failure classes. Timeouts are configured short so every case stays fast."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import brotli
import pytest

from monitor.config import Fetch
from monitor.errors import PermanentFetchError, TransientFetchError
from monitor.ingest.fetch import (BoundedDecoder, fetch_feed, fetch_page, make_client,
                                  parse_retry_after, safe_validator)
from test_fetch_support import Server, conditional, drip, hang, redirect, rss, send, static

FAST = Fetch(connect_timeout=1, read_timeout=1, total_timeout=2, max_bytes=100_000, retries=0,
             host_delay=0, retry_after_cap=3600)


def fetch(url: str, settings: Fetch = FAST, **kwargs):
    async def run():
        async with make_client(settings) as client:
            return await fetch_feed(client, url, settings, **kwargs)
    return asyncio.run(run())


def test_304_round_trip_sends_the_stored_etag():
    body = rss("Conditional")
    with Server({"/feed": conditional(body, '"v1"')}) as server:
        first = fetch(server.url("/feed"))
        second = fetch(server.url("/feed"), etag=first.etag, content_hash=first.content_hash)
    assert first.status == 200 and first.body == body and first.etag == '"v1"'
    assert not first.not_modified
    assert second.status == 304 and second.not_modified and second.body == b""
    assert server.requests[1][1]["if-none-match"] == '"v1"'
    assert "if-none-match" not in server.requests[0][1]


def test_changed_etag_gives_the_new_body():
    with Server({"/feed": conditional(rss("Old"), '"v1"')}) as server:
        first = fetch(server.url("/feed"))
        server.routes["/feed"] = conditional(rss("New"), '"v2"')
        second = fetch(server.url("/feed"), etag=first.etag, content_hash=first.content_hash)
    assert not second.not_modified and second.etag == '"v2"'
    assert b"New" in second.body and second.content_hash != first.content_hash


def test_unchanged_body_is_recognised_by_its_hash():
    with Server({"/feed": static(rss("Same"))}) as server:   # no validators at all
        first = fetch(server.url("/feed"))
        second = fetch(server.url("/feed"), content_hash=first.content_hash)
    assert second.status == 200 and second.not_modified and second.body == b""


def test_last_modified_is_sent_back():
    stamp = "Mon, 02 Mar 2020 10:00:00 GMT"
    with Server({"/feed": static(rss(), headers={"Last-Modified": stamp})}) as server:
        first = fetch(server.url("/feed"))
        fetch(server.url("/feed"), last_modified=first.last_modified)
    assert first.last_modified == stamp
    assert server.requests[1][1]["if-modified-since"] == stamp


def test_user_agent_is_the_configured_one():
    settings = FAST.model_copy(update={"user_agent": "research-bot/1.0 (me@example.org)"})
    with Server({"/feed": static(rss())}) as server:
        fetch(server.url("/feed"), settings)
    assert server.requests[0][1]["user-agent"] == "research-bot/1.0 (me@example.org)"


def test_slow_drip_is_cut_by_the_total_deadline():
    with Server({"/feed": drip(0.2, total=1000)}) as server:   # each byte within read_timeout
        with pytest.raises(TransientFetchError) as caught:
            fetch(server.url("/feed"))
    assert caught.value.error_class == "timeout"


def test_server_that_never_answers_times_out():
    with Server({"/feed": hang(5)}) as server:
        with pytest.raises(TransientFetchError) as caught:
            fetch(server.url("/feed"))
    assert caught.value.error_class == "timeout"


def test_oversized_body_is_cut():
    with Server({"/feed": static(b"x" * 200_000)}) as server:
        with pytest.raises(PermanentFetchError) as caught:
            fetch(server.url("/feed"))
    assert caught.value.error_class == "too_large"


def test_oversized_body_without_content_length_is_cut_while_streaming():
    def chunked(handler):
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for _ in range(30):
            handler.wfile.write(b"2000\r\n" + b"y" * 0x2000 + b"\r\n")
        handler.wfile.write(b"0\r\n\r\n")
    with Server({"/feed": chunked}) as server:
        with pytest.raises(PermanentFetchError) as caught:
            fetch(server.url("/feed"))
    assert caught.value.error_class == "too_large"


@pytest.mark.parametrize("encoding, compress", [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("br", brotli.compress),
])
def test_compression_bomb_is_cut(encoding, compress):
    bomb = compress(b"\0" * 5_000_000)   # 5 MB of zeros (50 times the limit) in a few kB
    assert len(bomb) < 10_000
    with Server({"/feed": static(bomb, headers={"Content-Encoding": encoding})}) as server:
        with pytest.raises(PermanentFetchError) as caught:
            fetch(server.url("/feed"))
    assert caught.value.error_class == "too_large"


@pytest.mark.parametrize("encoding, compress", [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", lambda data: zlib.compress(data)[2:-4]),   # raw deflate, as some servers send
    ("br", brotli.compress),
])
def test_compressed_bodies_are_decoded(encoding, compress):
    body = rss("Compressed", items=20)
    with Server({"/feed": static(compress(body), headers={"Content-Encoding": encoding})}) as server:
        result = fetch(server.url("/feed"))
    assert result.body == body


def test_decoder_never_produces_more_than_the_limit():
    decoder = BoundedDecoder("gzip", 1000, "http://x/")
    with pytest.raises(PermanentFetchError):
        decoder.feed(gzip.compress(b"a" * 10_000_000))
    assert decoder.size <= 1001


def test_redirect_loop_is_detected():
    with Server() as server:
        server.routes["/a"] = redirect(server.url("/b"))
        server.routes["/b"] = redirect(server.url("/a"))
        with pytest.raises(PermanentFetchError) as caught:
            fetch(server.url("/a"))
    assert caught.value.error_class == "redirect_loop"
    assert server.hits("/a") == 1 and server.hits("/b") == 1


def test_more_than_five_redirects_is_refused():
    with Server() as server:
        for i in range(7):
            server.routes[f"/r{i}"] = redirect(server.url(f"/r{i + 1}"))
        server.routes["/r7"] = static(rss())
        with pytest.raises(PermanentFetchError) as caught:
            fetch(server.url("/r0"))
    assert caught.value.error_class == "too_many_redirects"
    assert server.hits("/r6") == 0


def test_permanent_redirect_chain_reports_the_new_url():
    with Server() as server:
        server.routes["/old"] = redirect(server.url("/new"), 301)
        server.routes["/new"] = redirect("/temporary", 302)   # relative, and not permanent
        server.routes["/temporary"] = static(rss("Moved"))
        result = fetch(server.url("/old"))
    assert result.permanent_redirect == server.url("/new")
    assert result.url == server.url("/temporary") and b"Moved" in result.body


def test_redirect_to_a_file_url_is_refused():
    with Server({"/feed": redirect("file:///etc/passwd", 301)}) as server:
        with pytest.raises(PermanentFetchError) as caught:
            fetch(server.url("/feed"))
    assert caught.value.error_class == "bad_url"


def test_429_with_retry_after_seconds():
    with Server({"/feed": static(b"slow down", 429, {"Retry-After": "120"})}) as server:
        with pytest.raises(TransientFetchError) as caught:
            fetch(server.url("/feed"))
    assert caught.value.error_class == "rate_limited" and caught.value.status == 429
    assert caught.value.retry_after == 120


def test_429_with_retry_after_date_is_capped():
    later = format_datetime(datetime.now(timezone.utc) + timedelta(days=3), usegmt=True)
    with Server({"/feed": static(b"", 429, {"Retry-After": later})}) as server:
        with pytest.raises(TransientFetchError) as caught:
            fetch(server.url("/feed"))
    assert caught.value.retry_after == FAST.retry_after_cap


def test_retry_after_forms():
    now = datetime(2020, 3, 2, 10, 0, tzinfo=timezone.utc)
    assert parse_retry_after("30", 3600, now) == 30
    assert parse_retry_after("Mon, 02 Mar 2020 10:05:00 GMT", 3600, now) == 300
    assert parse_retry_after("Mon, 02 Mar 2020 09:00:00 GMT", 3600, now) == 0   # past
    assert parse_retry_after("999999", 3600, now) == 3600
    assert parse_retry_after("soon", 3600, now) is None


def test_status_classes():
    routes = {"/gone": static(b"", 410), "/missing": static(b"", 404), "/broken": static(b"", 503),
              "/forbidden": static(b"", 403)}
    expected = {"/gone": (PermanentFetchError, "gone"), "/missing": (TransientFetchError, "not_found"),
                "/broken": (TransientFetchError, "server_error"),
                "/forbidden": (PermanentFetchError, "client_error")}
    with Server(routes) as server:
        for path, (kind, error_class) in expected.items():
            with pytest.raises(kind) as caught:
                fetch(server.url(path))
            assert caught.value.error_class == error_class, path


def test_refused_connection_is_transient():
    with Server() as server:
        url = server.url("/feed")
    with pytest.raises(TransientFetchError) as caught:   # the server is closed now
        fetch(url)
    assert caught.value.error_class == "connect_error"


def test_only_http_https_and_file_urls():
    with pytest.raises(PermanentFetchError) as caught:
        fetch("ftp://example.org/feed.xml")
    assert caught.value.error_class == "bad_url"


def test_file_urls_are_read_with_the_size_limit(tmp_path):
    small, big = tmp_path / "small.xml", tmp_path / "big.xml"
    small.write_bytes(rss("Local"))
    big.write_bytes(b"z" * 200_000)
    result = fetch(small.as_uri())
    assert result.status is None and result.body == rss("Local")
    with pytest.raises(PermanentFetchError) as caught:
        fetch(big.as_uri())
    assert caught.value.error_class == "too_large"
    with pytest.raises(PermanentFetchError) as caught:
        fetch((tmp_path / "absent.xml").as_uri())
    assert caught.value.error_class == "unreadable_file"


def test_wrong_charset_body_is_passed_on_untouched():
    body = "<rss><channel><title>Новости</title></channel></rss>".encode("utf-8")
    headers = {"Content-Type": "application/rss+xml; charset=iso-8859-1"}
    with Server({"/feed": static(body, headers=headers)}) as server:
        result = fetch(server.url("/feed"))
    assert result.body == body   # bytes as sent; the parser weighs the declared charset
    assert result.headers["content-type"] == "application/rss+xml; charset=iso-8859-1"


def test_hostile_validators_are_not_sent_back():
    assert safe_validator('"abc"') == '"abc"'
    assert safe_validator("x\r\nX-Injected: 1") is None
    assert safe_validator("é") is None
    assert safe_validator("a" * 600) is None


def test_fetch_page_returns_the_page():
    page = b"<html><body><p>Full text</p></body></html>"

    async def fetch(url: str) -> bytes:
        async with make_client(FAST) as client:
            return await fetch_page(client, url, FAST)

    with Server({"/article": static(page, headers={"Content-Type": "text/html"})}) as server:
        assert asyncio.run(fetch(server.url("/article"))) == page
        with pytest.raises(TransientFetchError):
            asyncio.run(fetch(server.url("/nothing")))


def test_send_helper_sets_length():
    # guards the helper the other tests rely on: a body arrives whole
    with Server({"/x": lambda h: send(h, 200, b"12345")}) as server:
        assert fetch(server.url("/x")).body == b"12345"
