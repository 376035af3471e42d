"""The HTML digest rendered in Debian's chromium: it shows every section, the chart image
loads from the file itself, a feed title with script payloads stays text, and the page
asks for nothing over the network. A screenshot goes to tests/output/."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from monitor.present.digest import build_digest, write_digest
from monitor.store.schema import articles
from test_digest_support import WEEK, demo_database, settings

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = Path(__file__).resolve().parent / "output"
XSS_TITLE = '<img src=x onerror="window.__xss=1">Blacklist <script>window.__xss=2</script> 失信 чёрный список'

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def digest_html(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("digest-browser")
    engine = demo_database(f"sqlite:///{folder / 'monitor.db'}")
    with engine.begin() as conn:
        # A hostile title on an article the digest shows as shift evidence.
        conn.execute(articles.update().where(articles.c.id == _first_evidence_id(engine, conn))
                     .values(title=XSS_TITLE))
    digest = build_digest(engine, settings(), WEEK, now=datetime(2026, 11, 27, tzinfo=timezone.utc))
    engine.dispose()
    return write_digest(digest, folder)[0]


def _first_evidence_id(engine, conn) -> str:
    digest = build_digest(engine, settings(), WEEK, now=datetime(2026, 11, 27, tzinfo=timezone.utc))
    shift_evidence = digest.shifts[0].evidence[0]
    return conn.execute(articles.select().with_only_columns(articles.c.id)
                        .where(articles.c.url == shift_evidence.url)).scalar_one()


def test_html_digest_renders_in_chromium(digest_html):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(exist_ok=True)
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 760, "height": 900})
            page.on("request", lambda request: requests.append(request.url))
            page.goto(digest_html.as_uri())
            page.wait_for_load_state("load")
            headings = page.locator("h2").all_inner_texts()
            chart_width = page.evaluate("document.querySelector('img.chart').naturalWidth")
            xss = page.evaluate("window.__xss")
            body = page.inner_text("body")
            page.screenshot(path=str(OUTPUT / f"digest-{WEEK}.png"), full_page=True)
        finally:
            browser.close()
    assert headings == ["This week in numbers", "Top stories", "Themes", "Framing shifts",
                        "How source groups differed", "Feed health"]
    assert chart_width > 500                       # the PNG decoded from the data: URI
    assert xss is None and "<script>window.__xss=2</script>" in body
    assert "失信 чёрный список" in body
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    assert (OUTPUT / f"digest-{WEEK}.png").stat().st_size > 10_000
