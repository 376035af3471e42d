"""End to end: `monitor dashboard` on the demo data, driven by Debian's chromium.

The demo is fetched and analysed for real, a hostile feed (script and onerror payloads
in titles and summaries) is ingested into the same database, and then every page must
load, draw its charts and show no exception box, while no payload ever runs. Screenshots
go to tests/output/screenshots/; with MONITOR_UPDATE_SCREENSHOTS=1 the main pages are also
copied to docs/screenshots/ for the README (so an ordinary run leaves the tree clean).
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from dashboard_fixtures import HOSTILE_TITLE
from monitor.dashboard.launch import start_dashboard, stop_dashboard, wait_until_ready

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "tests" / "output" / "screenshots"
DOCS_SHOTS = ROOT / "docs" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
# page path -> (title shown, charts it must draw on the demo data)
PAGES = {
    "": ("Overview", 1),
    "stories": ("Stories", 1),
    "themes": ("Themes", 2),
    "framing": ("Framing", 2),
    "sources": ("Sources", 1),
    "articles": ("Articles", 0),
    "annotate": ("Annotate", 0),
}
README_PAGES = ("overview", "stories", "themes", "framing", "sources", "articles")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def dashboard_url(demo_site, tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium package (.ci/run does)")
    folder = tmp_path_factory.mktemp("dashboard")
    port = _free_port()
    process = start_dashboard(demo_site.config_path, demo_site.db_url, port, log=folder / "streamlit.log")
    try:
        yield wait_until_ready(process, port)
    finally:
        stop_dashboard(process)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.errors = errors
    yield opened
    context.close()


def _settle(page, title: str) -> None:
    """Wait until the page's title is shown and Streamlit has finished running the script."""
    page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=60_000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    # Lazily loaded widgets (tables, radios) show a grey skeleton until their code arrives.
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=30_000)
    # Tables draw on a canvas once their grid is laid out; wait for every one of them.
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stDataFrame\"]')]"
        ".every(table => table.querySelector('canvas'))", timeout=30_000)
    page.wait_for_timeout(700)   # let the grids and charts paint before a screenshot


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_loads_draws_its_charts_and_shows_no_exception(dashboard_url, page, path):
    title, charts = PAGES[path]
    page.goto(f"{dashboard_url}/{path}")
    _settle(page, title)
    if charts:
        drawn = page.locator(".vega-embed canvas, .vega-embed svg.marks")
        drawn.nth(charts - 1).wait_for(timeout=30_000)
        assert drawn.count() >= charts
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.evaluate("() => window.__xss") is None
    SHOTS.mkdir(parents=True, exist_ok=True)
    name = path or "overview"
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    if name in README_PAGES and os.environ.get("MONITOR_UPDATE_SCREENSHOTS") == "1":
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SHOTS / f"{name}.png", DOCS_SHOTS / f"{name}.png")


def test_hostile_titles_and_summaries_show_as_text_and_never_run(dashboard_url, page):
    page.goto(f"{dashboard_url}/articles?q=window.__xss")
    _settle(page, "Articles")
    heading = page.locator('[data-testid="stHeading"]', has_text="Social credit system").first
    heading.wait_for(timeout=30_000)
    shown = heading.inner_text()
    assert HOSTILE_TITLE in shown and 'onload="window.__xss=6"' in shown   # the newest match
    summary = page.locator('[data-testid="stText"]').first.inner_text()
    assert "<script>window.__xss=8</script>" in summary   # the summary's payload, as text
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("a[href^='javascript:']").count() == 0
    page.wait_for_timeout(500)   # give any injected handler a chance to fire
    assert page.evaluate("() => window.__xss") is None
    assert page.errors == []
    page.screenshot(path=str(SHOTS / "articles-hostile.png"), full_page=True)
