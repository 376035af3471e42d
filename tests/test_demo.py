"""`monitor demo` on the bundled corpus: the analyses recover what the corpus plants."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
import sqlalchemy as sa

from monitor.demo.loader import load_items, load_outlets
from monitor.store import open_engine
from monitor.store.schema import articles, shifts


@pytest.fixture(scope="module")
def demo(demo_site):
    """The shared demo run (twice in one folder): rows of its articles and shifts."""
    first, second = demo_site.first, demo_site.second
    engine = open_engine(first.db_url)
    with engine.connect() as conn:
        rows = {r.url: r for r in conn.execute(sa.select(articles))}
        shift_rows = conn.execute(sa.select(shifts)).all()
    return first, second, rows, shift_rows


def _by_item(rows):
    return {item: rows[item.link] for item in load_items() if item.link in rows}


def test_corpus_is_as_the_issue_asks():
    items = load_items()
    outlets = load_outlets()
    assert len(items) >= 600 and len(outlets) >= 20
    assert {o.format for o in outlets} == {"rss2", "atom", "rdf"}
    assert {o.language for o in outlets} == {"en", "ru", "zh"}
    assert min(i.published.year for i in items) == 2014 and max(i.published.year for i in items) == 2026
    assert sum(not i.relevant for i in items) / len(items) >= 0.10
    assert len({i.id for i in items}) == len(items)


def test_every_item_is_stored_once_and_a_second_run_reuses_it(demo):
    first, second, rows, _ = demo
    assert first.fetch_report.ok == len(load_outlets())
    assert first.fetch_report.new_articles == len(load_items())
    assert len(_by_item(rows)) == len(load_items())
    assert second.fetch_report.new_articles == 0
    assert second.fetch_report.not_modified == len(load_outlets())
    assert second.requests_304 == len(load_outlets())
    assert {p.suffix for p in first.digest_files} >= {".html", ".txt", ".eml"}


def test_off_topic_items_are_filtered_out(demo):
    by_item = _by_item(demo[2])
    off_topic = [i for i in by_item if not i.relevant]
    on_topic = [i for i in by_item if i.relevant]
    kept_off = [i.id for i in off_topic if by_item[i].relevant]
    dropped_on = [i.id for i in on_topic if not by_item[i].relevant]
    precision = len(on_topic) / (len(on_topic) + len(kept_off))
    recall = (len(on_topic) - len(dropped_on)) / len(on_topic)
    assert precision >= 0.95, f"off-topic items kept: {kept_off}"
    assert recall >= 0.90, f"on-topic items dropped: {dropped_on}"


def test_syndicated_copies_are_linked_as_near_duplicates(demo):
    by_item = _by_item(demo[2])
    items = {i.id: i for i in by_item}
    copies = [i for i in by_item if i.syndicated_of]
    assert len(copies) >= 15
    family = {}
    for item in copies:
        family[item.link] = item.syndicated_of
    linked = 0
    for item in copies:
        row = by_item[item]
        original = items[item.syndicated_of]
        same_family = {original.link} | {c.link for c in copies if c.syndicated_of == item.syndicated_of}
        target = next((r.url for r in demo[2].values() if r.id == row.duplicate_of), None)
        if target in same_family:
            linked += 1
            assert 0.3 <= row.duplicate_similarity <= 1.0
    assert linked / len(copies) >= 0.9, f"only {linked} of {len(copies)} copies linked"
    originals = [items[i] for i in {c.syndicated_of for c in copies}]
    assert all(by_item[o].duplicate_of is None for o in originals)


def test_planted_same_event_items_land_in_one_story(demo):
    """Coverage of one event in one language within a week of its first report (later
    commentary is another story) mostly lands in a single story."""
    by_item = _by_item(demo[2])
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for item, row in sorted(by_item.items(), key=lambda pair: pair[0].published):
        if item.event and row.relevant and row.duplicate_of is None:
            groups[(item.event, row.language)].append((item.published, row.story_id))
    held, sizes = 0, 0
    for key, members in groups.items():
        first = members[0][0]
        story_ids = [story for when, story in members if (when - first).days <= 7]
        if len(story_ids) < 2:
            continue
        assert None not in story_ids, f"{key}: relevant articles without a story"
        sizes += 1
        held += Counter(story_ids).most_common(1)[0][1] >= 0.6 * len(story_ids)
    assert sizes >= 30
    assert held / sizes >= 0.75, f"{held} of {sizes} event-language groups held together"


def test_planted_framing_shift_is_detected(demo):
    detected = [s for s in demo[3] if s.frame == "surveillance" and s.scope_kind == "group"
                and s.scope == "western" and s.effect < 0]
    assert detected, "the fall of the surveillance frame in Western media was not detected"
    years = {int(s.period[:4]) for s in detected}
    assert years & set(range(2019, 2023)), f"shift detected only in {sorted(years)}"
