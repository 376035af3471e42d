"""A loopback HTTP server that serves the demo feeds with ETag and Last-Modified,
so the demo exercises fetching, conditional GET and feed health as real feeds would."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFERRED_PORT = 18931


class FeedServer:
    """Serves `documents` (path -> bytes) on 127.0.0.1 in a background thread."""

    def __init__(self, documents: Mapping[str, bytes], port: int = PREFERRED_PORT):
        self.documents = dict(documents)
        self.requests: list[tuple[str, int]] = []   # (path, status) of every request
        handler = _handler_for(self)
        try:
            self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError:   # the preferred port is taken: any free one will do
            self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._modified = formatdate(usegmt=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FeedServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler_for(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            body = server.documents.get(self.path.split("?", 1)[0])
            if body is None:
                return self._reply(404, b"not found", {})
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            headers = {"ETag": etag, "Last-Modified": server._modified,
                       "Content-Type": "application/xml; charset=utf-8"}
            if self.headers.get("If-None-Match") == etag:
                return self._reply(304, b"", headers)
            self._reply(200, body, headers)

        def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            server.requests.append((self.path, status))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def log_message(self, *args) -> None:   # keep the demo's output readable
            pass

    return Handler
