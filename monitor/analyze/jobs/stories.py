"""The stories job: place new relevant originals in stories and refresh those stories.

Incremental by default: only articles without a story are placed, against the stories
still open around their dates. `full=True` forgets every story and rebuilds from all
articles (the same ids come back, as ids derive from each story's first article, so
only the articles whose story id changed are written).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.analyze.glossary import Glossary
from monitor.analyze.stories import (Frequencies, Story, StoryDoc, StoryParams, assign_stories,
                                     story_doc, summarize)
from monitor.analyze.text import TOKENIZER_VERSION, tokenize
from monitor.config import Settings
from monitor.store import grouping

# Document frequencies of story features over every grouped article, kept between runs.
FREQUENCIES_KEY = "stories.frequencies"


def story_params(settings: Settings) -> StoryParams:
    return StoryParams(window_days=settings.analysis.story_window_days,
                       threshold=settings.analysis.story_threshold)


def has_cached_tokens(row: sa.Row) -> bool:
    return row.tokens is not None and row.tokens_version == TOKENIZER_VERSION


def cached_tokens(row: sa.Row) -> list[str]:
    """The article's cached tokens, or fresh ones when the cache is absent or stale."""
    if has_cached_tokens(row):
        return list(row.tokens)
    lead = getattr(row, "lead", None) or getattr(row, "summary", "") or ""
    return tokenize(f"{row.title}\n{lead}", row.language)


def run(engine: Engine, settings: Settings, *, full: bool = False) -> dict:
    """Place new articles in stories; return counts for the run's report."""
    params = story_params(settings)
    glossary = Glossary(settings.topic.glossary)
    with engine.begin() as conn:
        if full:
            grouping.clear_stories(conn)
        emptied = grouping.release_ungrouped(conn)
        new_rows = grouping.story_inputs(conn, unassigned_only=not full)
        stored = None if full else Frequencies.from_json(grouping.get_state(conn, FREQUENCIES_KEY))
        context_rows: list[sa.Row] = []
        if new_rows:
            earliest = min(row.published_at for row in new_rows)
            open_ids = grouping.open_story_ids(conn, earliest - timedelta(days=params.window_days))
            context_rows = grouping.story_member_inputs(conn, open_ids)
    docs = ([_doc(row, glossary, params, row.story_id) for row in context_rows]
            + [_doc(row, glossary, params, None) for row in new_rows])
    frequencies = _frequencies(stored, docs, len(context_rows))
    assigned = assign_stories(docs, params, frequencies)
    touched = set(assigned.values()) | emptied
    with engine.begin() as conn:
        previous = {row.id: row.story_id for row in new_rows}   # set only in a full run
        grouping.set_article_stories(conn, {article: story for article, story in assigned.items()
                                            if story != previous[article]})
        known = {doc.story_id for doc in docs if doc.story_id} | set(assigned.values())
        missing = touched - known   # stories that only lost members: load what is left
        extra = [_doc(row, glossary, params, row.story_id)
                 for row in grouping.story_member_inputs(conn, missing)]
        members = [doc for doc in [*docs, *extra]
                   if (assigned.get(doc.id) or doc.story_id) in touched]
        summaries = summarize(members, assigned, params, frequencies)
        now = datetime.now(timezone.utc)   # one time for the run's writes
        grouping.save_stories(conn, [_story_row(story, now) for story in summaries])
        grouping.delete_stories(conn, touched - {story.id for story in summaries})
        total = grouping.count_stories(conn)
        if new_rows or stored is None:
            grouping.set_state(conn, FREQUENCIES_KEY, frequencies.to_json(), now)
    existing = {doc.story_id for doc in docs}   # built once: inside the loop it was quadratic
    new_stories = set(assigned.values()) - existing
    return {"articles": len(new_rows), "new_stories": len(new_stories),
            "updated_stories": len(touched) - len(new_stories), "stories": total}


def _frequencies(stored: Frequencies | None, docs: list[StoryDoc], n_context: int) -> Frequencies:
    """The stored frequencies plus the new documents; without any stored (a full run, or a
    database from before they were kept), the frequencies of the documents at hand.
    Articles that leave the grouped set stay counted until the next full run."""
    if stored is None:
        return Frequencies.of(docs)
    stored.add(docs[n_context:])
    return stored


def _doc(row: sa.Row, glossary: Glossary, params: StoryParams, story_id: str | None) -> StoryDoc:
    """The row's StoryDoc; `story_id` None makes it an article to place."""
    if not has_cached_tokens(row):
        glossary.teach_segmenter()   # fresh tokens must split Chinese as the cached ones do
    return story_doc(id=row.id, published=row.published_at, language=row.language,
                     outlet=row.outlet, title=row.title, lead=row.lead or "",
                     tokens=cached_tokens(row), glossary=glossary, params=params,
                     story_id=story_id)


def _story_row(story: Story, now: datetime) -> dict:
    return {"id": story.id, "headline": story.headline,
            "headline_article_id": story.headline_article_id,
            "first_seen": story.first_seen, "last_seen": story.last_seen,
            "article_count": story.article_count, "outlets": list(story.outlets),
            "languages": list(story.languages), "updated_at": now}
