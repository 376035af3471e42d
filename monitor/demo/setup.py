"""Writing the demo's working folder: the feeds it serves and a feeds.yaml that polls them."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

from ruamel.yaml import YAML

from monitor.cli.setup import starter_config
from monitor.demo.loader import items_by_outlet, load_outlets
from monitor.demo.render import render_feed


def feed_documents() -> dict[str, bytes]:
    """URL path -> feed document, one per demo outlet."""
    grouped = items_by_outlet()
    return {f"/feeds/{o.slug}.xml": render_feed(o, grouped[o.slug])
            for o in load_outlets() if grouped[o.slug]}


def demo_config(base_url: str) -> str:
    """The starter feeds.yaml (same topic, codebook and comments) polling the demo feeds."""
    yaml = YAML(typ="rt")
    tree = yaml.load(starter_config())
    grouped = items_by_outlet()
    tree["feeds"] = [
        {"name": o.slug, "url": f"{base_url}/feeds/{o.slug}.xml", "outlet": o.outlet,
         "language": o.language, "country": o.country, "group": o.group,
         "min_interval_minutes": 60, "max_interval_minutes": 1440}
        for o in load_outlets() if grouped[o.slug]
    ]
    # Every demo feed is on one loopback host: lift the politeness delay meant for real hosts.
    tree["fetch"]["per_host"] = 8
    tree["fetch"]["host_delay"] = 0.0
    out = StringIO()
    yaml.dump(tree, out)
    return "# The demo's feeds.yaml, written by `monitor demo`; feeds served on loopback.\n" + out.getvalue()


def previous_port(directory: Path) -> int | None:
    """The port an earlier demo in this folder served on: reusing it keeps the feed URLs, so
    the feeds answer 304 instead of being fetched as new ones."""
    try:
        text = (directory / "feeds.yaml").read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"http://127\.0\.0\.1:(\d+)/feeds/", text)
    return int(match.group(1)) if match else None


def write_config(directory: Path, base_url: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "feeds.yaml"
    path.write_text(demo_config(base_url), encoding="utf-8")
    return path
