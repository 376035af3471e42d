"""Showing hostile feed text safely: titles as literal text, links only when http(s).

Streamlit renders markdown (and, with unsafe_allow_html, HTML); feed titles and summaries
are never passed through either. `literal()` escapes every markdown character so a title
such as `<script>…` or `[x](javascript:…)` shows exactly as written.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^])")


def literal(text: str | None) -> str:
    """Markdown source that displays `text` verbatim (no links, HTML, emphasis or emoji)."""
    flat = " ".join((text or "").split())   # newlines could start headings or lists
    return _MARKDOWN.sub(r"\\\1", flat)


def http_url(url: str | None) -> str | None:
    """`url` when it is an absolute http(s) URL without spaces or control characters, else None."""
    if not url or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return None
    parts = urlsplit(url)
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None
