"""The main text of an article's web page, for feeds marked `fulltext: true`.

The page is fetched by a function the caller passes in (the fetch runner's page fetcher,
under the same politeness and size limits as feeds), so this module does no networking itself.
A page that cannot be fetched or yields no text keeps the summary, and says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import trafilatura

from monitor.errors import MonitorError

MIN_CHARS = 200   # less than this is a cookie wall or a teaser, not the article


@dataclass(frozen=True)
class Fulltext:
    text: str | None
    error: str | None


def extract_fulltext(url: str, fetch_page: Callable[[str], bytes]) -> Fulltext:
    """Fetch `url` with `fetch_page` and extract its main text; never raises on bad pages."""
    try:
        page = fetch_page(url)
    except MonitorError as exc:
        return Fulltext(None, f"fetch failed: {exc}"[:500])
    except OSError as exc:
        return Fulltext(None, f"fetch failed: {type(exc).__name__}: {exc}"[:500])
    return extract_text(page, url)


def extract_text(page: bytes, url: str = "") -> Fulltext:
    """The main text of an HTML page, or the reason there is none."""
    if not page.strip():
        return Fulltext(None, "empty page")
    try:
        text = trafilatura.extract(page, url=url or None, include_comments=False,
                                   include_tables=False, favor_precision=True)
    except Exception as exc:  # trafilatura raises many kinds on hostile HTML; all mean "no text"
        return Fulltext(None, f"extraction failed: {type(exc).__name__}"[:500])
    if not text or len(text.strip()) < MIN_CHARS:
        return Fulltext(None, "no article text found on the page")
    return Fulltext(text.strip(), None)
