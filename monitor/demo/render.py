"""Rendering an outlet's demo items as an RSS 2.0, Atom 1.0 or RSS 1.0 (RDF) document."""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import format_datetime
from xml.etree import ElementTree as ET

from monitor.demo.loader import DemoItem, DemoOutlet

ATOM = "http://www.w3.org/2005/Atom"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RSS1 = "http://purl.org/rss/1.0/"
DC = "http://purl.org/dc/elements/1.1/"


def render_feed(outlet: DemoOutlet, items: Sequence[DemoItem]) -> bytes:
    """The outlet's feed document, newest item first, as UTF-8 XML bytes."""
    newest_first = sorted(items, key=lambda i: i.published, reverse=True)
    builder = {"rss2": _rss2, "atom": _atom, "rdf": _rdf}[outlet.format]
    root = builder(outlet, newest_first)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8")


def _home(outlet: DemoOutlet) -> str:
    return f"https://{outlet.slug}.example/"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _rss2(outlet: DemoOutlet, items: Sequence[DemoItem]) -> ET.Element:
    rss = ET.Element("rss", {"version": "2.0"})
    channel = _sub(rss, "channel")
    _sub(channel, "title", outlet.outlet)
    _sub(channel, "link", _home(outlet))
    _sub(channel, "description", f"{outlet.outlet}: latest coverage")
    _sub(channel, "language", outlet.language)
    _sub(channel, "ttl", "60")
    for item in items:
        node = _sub(channel, "item")
        _sub(node, "title", item.title)
        _sub(node, "link", item.link)
        _sub(node, "guid", item.link, isPermaLink="true")
        _sub(node, "pubDate", format_datetime(item.published))
        _sub(node, "description", item.summary)
        if item.author:
            _sub(node, f"{{{DC}}}creator", item.author)
        for category in item.categories:
            _sub(node, "category", category)
    return rss


def _atom(outlet: DemoOutlet, items: Sequence[DemoItem]) -> ET.Element:
    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": outlet.language})
    _sub(feed, f"{{{ATOM}}}title", outlet.outlet)
    _sub(feed, f"{{{ATOM}}}id", f"tag:{outlet.slug}.example,2014:feed")
    _sub(feed, f"{{{ATOM}}}link", href=_home(outlet))
    _sub(feed, f"{{{ATOM}}}updated", (items[0].published if items else None).isoformat() if items else
         "2014-01-01T00:00:00+00:00")
    for item in items:
        entry = _sub(feed, f"{{{ATOM}}}entry")
        _sub(entry, f"{{{ATOM}}}title", item.title)
        _sub(entry, f"{{{ATOM}}}id", f"tag:{item.outlet}.example,2014:{item.id}")
        _sub(entry, f"{{{ATOM}}}link", href=item.link, rel="alternate")
        _sub(entry, f"{{{ATOM}}}published", item.published.isoformat())
        _sub(entry, f"{{{ATOM}}}updated", item.published.isoformat())
        _sub(entry, f"{{{ATOM}}}summary", item.summary, type="text")
        if item.author:
            author = _sub(entry, f"{{{ATOM}}}author")
            _sub(author, f"{{{ATOM}}}name", item.author)
        for category in item.categories:
            _sub(entry, f"{{{ATOM}}}category", term=category)
    return feed


def _rdf(outlet: DemoOutlet, items: Sequence[DemoItem]) -> ET.Element:
    root = ET.Element(f"{{{RDF}}}RDF")
    channel = _sub(root, f"{{{RSS1}}}channel", **{f"{{{RDF}}}about": _home(outlet)})
    _sub(channel, f"{{{RSS1}}}title", outlet.outlet)
    _sub(channel, f"{{{RSS1}}}link", _home(outlet))
    _sub(channel, f"{{{RSS1}}}description", f"{outlet.outlet}: latest coverage")
    _sub(channel, f"{{{DC}}}language", outlet.language)
    seq = _sub(_sub(channel, f"{{{RSS1}}}items"), f"{{{RDF}}}Seq")
    for item in items:
        _sub(seq, f"{{{RDF}}}li", **{f"{{{RDF}}}resource": item.link})
    for item in items:
        node = _sub(root, f"{{{RSS1}}}item", **{f"{{{RDF}}}about": item.link})
        _sub(node, f"{{{RSS1}}}title", item.title)
        _sub(node, f"{{{RSS1}}}link", item.link)
        _sub(node, f"{{{RSS1}}}description", item.summary)
        _sub(node, f"{{{DC}}}date", item.published.isoformat())
        if item.author:
            _sub(node, f"{{{DC}}}creator", item.author)
        for category in item.categories:
            _sub(node, f"{{{DC}}}subject", category)
    return root
