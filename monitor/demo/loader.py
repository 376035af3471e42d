"""Loading the bundled demo corpus: fictional outlets and the items written for them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources

from ruamel.yaml import YAML

CORPUS_PACKAGE = "monitor.demo.corpus"


@dataclass(frozen=True)
class DemoOutlet:
    slug: str
    outlet: str
    language: str
    country: str
    group: str
    format: str          # rss2, atom or rdf


@dataclass(frozen=True)
class DemoItem:
    id: str
    outlet: str          # an outlet slug
    published: datetime
    title: str
    summary: str
    author: str
    categories: tuple[str, ...]
    event: str | None            # planted story key
    relevant: bool               # planted relevance
    negative: str | None         # kind of hard negative
    frames: tuple[str, ...]      # planted frames, dominant first
    syndicated_of: str | None    # id of the wire original this copies

    @property
    def link(self) -> str:
        return f"https://{self.outlet}.example/{self.published:%Y/%m}/{self.id}"


@cache
def load_outlets() -> tuple[DemoOutlet, ...]:
    text = resources.files(CORPUS_PACKAGE).joinpath("outlets.yaml").read_text(encoding="utf-8")
    return tuple(DemoOutlet(**row) for row in YAML(typ="safe").load(text)["outlets"])


@cache
def load_items() -> tuple[DemoItem, ...]:
    """Every item of every items_*.jsonl file, oldest first."""
    items = []
    folder = resources.files(CORPUS_PACKAGE)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.startswith("items_") and entry.name.endswith(".jsonl"):
            for line in entry.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    items.append(_item(json.loads(line)))
    return tuple(sorted(items, key=lambda i: (i.published, i.id)))


def _item(row: dict) -> DemoItem:
    return DemoItem(
        id=row["id"], outlet=row["outlet"],
        published=datetime.fromisoformat(row["published"].replace("Z", "+00:00")),
        title=row["title"], summary=row["summary"], author=row.get("author") or "",
        categories=tuple(row.get("categories") or ()), event=row.get("event"),
        relevant=bool(row["relevant"]), negative=row.get("negative"),
        frames=tuple(row.get("frames") or ()), syndicated_of=row.get("syndicated_of"))


def items_by_outlet() -> dict[str, list[DemoItem]]:
    grouped: dict[str, list[DemoItem]] = {o.slug: [] for o in load_outlets()}
    for item in load_items():
        grouped[item.outlet].append(item)
    return grouped
