"""A small threaded HTTP server on 127.0.0.1 for the fetch tests (no tests here).

Routes map a path to a function(handler) that writes the whole response itself, so a
route can drip bytes, hang, lie about its charset or send a compressed bomb. The server
counts requests in flight, so tests can check per-host limits as the server saw them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Route = Callable[[BaseHTTPRequestHandler], None]

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{title}</title><link>http://example.org/</link>
<description>test feed</description>{items}</channel></rss>"""
ITEM = ("<item><title>{title}</title><link>http://example.org/{slug}</link><guid>{slug}</guid>"
        "<pubDate>Mon, 02 Mar 2020 10:00:00 GMT</pubDate><description>{title}</description></item>")


def rss(title: str = "Feed", items: int = 2, prefix: str = "a") -> bytes:
    body = "".join(ITEM.format(title=f"{title} item {i}", slug=f"{prefix}{i}") for i in range(items))
    return RSS.format(title=title, items=body).encode()


class Server:
    """A threaded HTTP server; use as a context manager."""

    def __init__(self, routes: dict[str, Route] | None = None):
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 (http.server's naming)
                with owner._lock:
                    owner.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                    owner.in_flight += 1
                    owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
                try:
                    route = owner.routes.get(self.path.split("?")[0])
                    if route is None:
                        send(self, 404, b"not here")
                    else:
                        route(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with owner._lock:
                        owner.in_flight -= 1

            def log_message(self, *args):
                pass

        class Listener(ThreadingHTTPServer):
            request_queue_size = 128   # the default 5 drops connections under concurrency

        self.httpd = Listener(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p.split("?")[0] == path)

    def __enter__(self) -> "Server":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes = b"",
         headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    headers = {"Content-Type": "application/rss+xml; charset=utf-8", **(headers or {})}
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def static(body: bytes, status: int = 200, headers: dict[str, str] | None = None,
           delay: float = 0.0) -> Route:
    def route(handler):
        if delay:
            time.sleep(delay)
        send(handler, status, body, headers)
    return route


def conditional(body: bytes, etag: str) -> Route:
    """200 with an ETag, or 304 when the client sends that ETag back."""
    def route(handler):
        if handler.headers.get("If-None-Match") == etag:
            handler.send_response(304)
            handler.send_header("ETag", etag)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        else:
            send(handler, 200, body, {"ETag": etag})
    return route


def drip(interval: float, total: int = 1000) -> Route:
    """Sends headers, then one byte every `interval` seconds: never times out a read."""
    def route(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Length", str(total))
        handler.end_headers()
        for _ in range(total):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(interval)
    return route


def hang(seconds: float) -> Route:
    """Accepts the request and says nothing."""
    def route(handler):
        time.sleep(seconds)
    return route


def redirect(location: str, status: int = 302) -> Route:
    def route(handler):
        send(handler, status, b"", {"Location": location})
    return route
