"""What the crash-safety tests run in child processes (and kill), the corpora they ingest,
and the checks they make on the database afterwards.

Children come from a multiprocessing *forkserver* that preloads this module: the server
is a fresh interpreter (pytest itself is never forked), it pays the imports and the
jieba dictionary load once, and each trial is a clean fork of it with no database
connection open. Spawning a new interpreter per trial would cost seconds of imports
before the first write, and the trials would mostly kill processes still importing.
"""

from __future__ import annotations

import importlib
import importlib.util
import multiprocessing
import multiprocessing.forkserver
import os
import random
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.analyze.runner import JOBS, run_analysis
from monitor.config import parse_settings
from monitor.demo.loader import items_by_outlet, load_outlets
from monitor.demo.render import render_feed
from monitor.ingest.pipeline import prepare_document, store_document
from monitor.models import FeedRef
from monitor.store.db import open_engine
from monitor.store.feeds import ensure_feed
from monitor.store.schema import (article_feeds, articles, feeds, frame_scores, metadata, stories,
                                  themes)

FETCHED_AT = datetime(2024, 6, 1, 12, tzinfo=timezone.utc)
HEADERS = {"content-type": "application/xml"}
CHILD_TIMEOUT_S = 60.0

# Tables ingest writes; every other table except these is derived by analysis.
KEPT_TABLES = {"schema_version", "feeds", "fetches", "articles", "article_feeds", "annotations",
               "models", "digests", "alerts"}
ANALYSIS_COLUMNS = ("relevance_score", "relevant", "relevance_reason", "tokens", "tokens_version",
                    "story_id", "theme_id", "analyzed_at")


def analysis_jobs() -> list[str]:
    """The analysis jobs that exist in this tree (colleagues are still adding some)."""
    return [name for name in JOBS if importlib.util.find_spec(f"monitor.analyze.jobs.{name}")]


WARM_UP_ENV = "MONITOR_CRASH_WARM_UP"


def _warm_up() -> None:
    """Load what every child needs (imports, jieba's dictionary) once, in the forkserver."""
    for name in analysis_jobs():
        importlib.import_module(f"monitor.analyze.jobs.{name}")
    from monitor.analyze.text import tokenize
    tokenize("社会信用体系的试点城市", "zh")


if os.environ.get(WARM_UP_ENV):   # set for the forkserver only; pytest needs none of it
    _warm_up()


# --- corpora ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class FeedDoc:
    """One feed document and the feed that carried it."""

    ref: FeedRef
    body: bytes


def demo_docs(per_outlet: int) -> list[FeedDoc]:
    """The first `per_outlet` items of every demo outlet, rendered in the outlet's format."""
    grouped = items_by_outlet()
    out = []
    for outlet in load_outlets():
        items = grouped[outlet.slug][:per_outlet]
        if items:
            ref = FeedRef(name=f"demo:{outlet.slug}", url=f"https://{outlet.slug}.example/feed",
                          outlet=outlet.outlet, group=outlet.group, language=outlet.language)
            out.append(FeedDoc(ref, render_feed(outlet, items)))
    return out


_WORDS = {
    "en": "credit score rating company court blacklist regulator pilot city data privacy bank "
          "loan record rule law citizen platform report market trust penalty".split(),
    "ru": "кредит рейтинг компания суд список регулятор город данные банк закон гражданин "
          "платформа доклад рынок доверие штраф система правила".split(),
    "zh": "信用 评分 企业 法院 黑名单 监管 试点 城市 数据 隐私 银行 贷款 记录 规则 法律 公民 平台".split(),
}


def _sentence(rng: random.Random, language: str, words: int) -> str:
    picked = [rng.choice(_WORDS[language]) for _ in range(words)]
    return ("" if language == "zh" else " ").join(picked)


def generated_docs(seed: int, n_feeds: int = 9, per_feed: int = 6) -> list[FeedDoc]:
    """RSS documents in three languages; every third item is also carried by the next feed
    (as syndication does), so one article must end up linked to two feeds."""
    rng = random.Random(seed)
    languages = ("en", "ru", "zh")
    items: list[list[str]] = [[] for _ in range(n_feeds)]
    for f in range(n_feeds):
        language = languages[f % 3]
        for i in range(per_feed):
            key = f"{f}-{i}"
            published = datetime(2024, 5, 1 + i % 28, f % 24, tzinfo=timezone.utc)
            item = (f"<item><guid>urn:gen:{key}</guid><link>https://gen{f}.example/{key}</link>"
                    f"<title>{escape(_sentence(rng, language, 8))}</title>"
                    f"<description>{escape(_sentence(rng, language, 60))}</description>"
                    f"<pubDate>{format_datetime(published)}</pubDate></item>")
            items[f].append(item)
            if i % 3 == 0:
                items[(f + 1) % n_feeds].append(item)
    out = []
    for f in range(n_feeds):
        language = languages[f % 3]
        body = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                f"<title>Generated {f}</title><language>{language}</language>"
                f"{''.join(items[f])}</channel></rss>").encode()
        ref = FeedRef(name=f"gen:{f}", url=f"https://gen{f}.example/feed", outlet=f"Gen {f}",
                      group="other", language=language)
        out.append(FeedDoc(ref, body))
    return out


def expected_links(docs: list[FeedDoc]) -> set[tuple[str, str]]:
    """(article id, feed name) for every distinct item of every document."""
    links = set()
    for doc in docs:
        prepared = prepare_document(doc.ref, doc.body, HEADERS, fetched_at=FETCHED_AT,
                                    base_url=doc.ref.url)
        links.update((a.id, doc.ref.name) for a in prepared.articles)
    return links


# --- child entry points ----------------------------------------------------------------------

def ingest_docs(url: str, docs: list[FeedDoc], order_seed: int, progress, ready) -> None:
    """Store every document (in an order shuffled by `order_seed`), counting in `progress`."""
    engine = open_engine(url)
    ready.set()
    order = list(range(len(docs)))
    random.Random(order_seed).shuffle(order)
    for i in order:
        doc = docs[i]
        with engine.begin() as conn:
            feed_id = ensure_feed(conn, doc.ref)
        store_document(engine, feed_id, doc.ref, doc.body, HEADERS, fetched_at=FETCHED_AT,
                       base_url=doc.ref.url)
        with progress.get_lock():
            progress.value += 1
    engine.dispose()


def ingest_folder(url: str, folder: str) -> None:
    """`monitor ingest --workers 2 FOLDER`, as a library call."""
    from monitor.ingest.files import IngestOptions, ingest_paths
    # As in `monitor ingest` on Linux: pool workers forked from this process (a forkserver
    # child inherits "forkserver" as its start method).
    multiprocessing.set_start_method("fork", force=True)
    engine = open_engine(url)
    ingest_paths(engine, [Path(folder)], IngestOptions(workers=2))
    engine.dispose()


def child_pids(pid: int) -> set[int]:
    """Running (not zombie) processes whose parent is `pid`, from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue   # exited meanwhile
        if fields[0] != "Z" and int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def running(pids: set[int]) -> set[int]:
    """Those of `pids` still running (not exited, not zombies)."""
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def analyze(url: str, config_text: str, ready, elapsed) -> None:
    """Run every analysis job once; `elapsed` receives the run's duration in seconds."""
    from monitor.analyze.jobs import relevance as relevance_job   # preloaded by _warm_up
    settings = parse_settings(config_text)
    engine = open_engine(url)
    # Training on the topic's seed labels happens once per database, before anything is
    # judged; doing it first keeps it out of the measured run the kills are drawn from.
    relevance_job._train_on_seed_labels(engine, settings)
    ready.set()
    started = time.perf_counter()
    jobs = analysis_jobs()
    if jobs == JOBS:
        run_analysis(engine, settings)
    else:
        for name in jobs:
            importlib.import_module(f"monitor.analyze.jobs.{name}").run(engine, settings)
    elapsed.value = time.perf_counter() - started
    engine.dispose()


def forkserver() -> multiprocessing.context.BaseContext:
    """The forkserver context, its server started with this module preloaded.

    Python 3.11's forkserver ignores the parent's sys.path when preloading, so the server
    gets this folder through PYTHONPATH. One BLAS thread: the server forks after numpy
    is imported. The child imports the parent's main module (pytest) again: preloaded too.
    """
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["pytest", __name__])
    saved = dict(os.environ)
    path = [str(Path(__file__).resolve().parent), os.environ.get("PYTHONPATH", "")]
    os.environ.update(PYTHONPATH=os.pathsep.join(p for p in path if p), OPENBLAS_NUM_THREADS="1",
                      OMP_NUM_THREADS="1", **{WARM_UP_ENV: "1"})
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return ctx


def finish(process: multiprocessing.Process) -> None:
    """Wait for a child that should complete, and fail unless it exited cleanly."""
    process.join(CHILD_TIMEOUT_S)
    if process.is_alive():
        process.kill()
        process.join()
        raise AssertionError(f"child {process.pid} did not finish in {CHILD_TIMEOUT_S} s")
    assert process.exitcode == 0, f"child exited with {process.exitcode} (see its stderr)"


def kill(process: multiprocessing.Process) -> bool:
    """SIGKILL a child; True if it was still running (False: it had finished)."""
    running = process.is_alive()
    process.kill()
    process.join(CHILD_TIMEOUT_S)
    assert process.exitcode in (0, -9), f"child exited with {process.exitcode} before the kill"
    return running and process.exitcode == -9


# --- checks ----------------------------------------------------------------------------------

def ingest_problems(engine: Engine) -> list[str]:
    """What is inconsistent in the ingest tables (an empty list when nothing is)."""
    problems = []
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            integrity = conn.exec_driver_sql("PRAGMA integrity_check").scalars().all()
            if integrity != ["ok"]:
                problems.append(f"integrity_check: {integrity[:5]}")
            foreign = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
            if foreign:
                problems.append(f"foreign_key_check: {foreign[:5]}")
        no_article = conn.execute(
            sa.select(sa.func.count()).select_from(article_feeds)
            .where(article_feeds.c.article_id.not_in(sa.select(articles.c.id)))).scalar_one()
        no_feed = conn.execute(
            sa.select(sa.func.count()).select_from(article_feeds)
            .where(article_feeds.c.feed_id.not_in(sa.select(feeds.c.id)))).scalar_one()
        unlinked = conn.execute(
            sa.select(sa.func.count()).select_from(articles)
            .where(articles.c.id.not_in(sa.select(article_feeds.c.article_id)))).scalar_one()
        doubled = conn.execute(
            sa.select(article_feeds.c.feed_id, articles.c.url, sa.func.count())
            .join(articles, articles.c.id == article_feeds.c.article_id)
            .where(articles.c.url != "")
            .group_by(article_feeds.c.feed_id, articles.c.url)
            .having(sa.func.count() > 1)).all()
    if no_article:
        problems.append(f"{no_article} article_feeds rows point at no article")
    if no_feed:
        problems.append(f"{no_feed} article_feeds rows point at no feed")
    if unlinked:
        problems.append(f"{unlinked} articles are linked to no feed")
    if doubled:
        problems.append(f"URLs stored twice for one feed: {doubled[:5]}")
    return problems


def stored_links(engine: Engine) -> list[tuple[str, str]]:
    """(article id, feed name) of every article_feeds row."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(article_feeds.c.article_id, feeds.c.name)
            .join(feeds, feeds.c.id == article_feeds.c.feed_id))]


def article_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(articles.c.id)).scalars())


@dataclass(frozen=True)
class AnalysisSnapshot:
    """The results of analysis, per article, comparable between runs."""

    relevance: dict[str, tuple[bool | None, float | None, bool]]   # relevant, score, has tokens
    story_of: dict[str, str | None]
    story_sizes: dict[str, tuple[int, int]]      # story id -> (article_count, members)
    theme_groups: frozenset                      # the articles of each theme (ids may differ)
    themeless: frozenset                         # ids of articles whose theme has no active row
    frames: dict[str, frozenset]                 # article id -> {(frame, present, score)}
    shifts: int


def analysis_snapshot(engine: Engine) -> AnalysisSnapshot:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(articles.c.id, articles.c.relevant, articles.c.relevance_score,
                                      articles.c.tokens, articles.c.story_id,
                                      articles.c.theme_id)).all()
        active = set(conn.execute(sa.select(themes.c.id).where(themes.c.status == "active")).scalars())
        members: dict[str, int] = {}
        for r in rows:
            if r.story_id is not None:
                members[r.story_id] = members.get(r.story_id, 0) + 1
        story_rows = conn.execute(sa.select(stories.c.id, stories.c.article_count)).all()
        frames: dict[str, set] = {}
        for r in conn.execute(sa.select(frame_scores)):
            frames.setdefault(r.article_id, set()).add((r.frame, bool(r.present), round(r.score, 4)))
        shifts = conn.execute(sa.select(sa.func.count()).select_from(metadata.tables["shifts"])).scalar_one()
    sizes = {s.id: (s.article_count, members.pop(s.id, 0)) for s in story_rows}
    sizes.update({story: (0, n) for story, n in members.items()})   # members of no story row
    return AnalysisSnapshot(
        relevance={r.id: (r.relevant, _rounded(r.relevance_score), r.tokens is not None) for r in rows},
        story_of={r.id: r.story_id for r in rows},
        story_sizes=sizes,
        theme_groups=_groups((r.id, r.theme_id) for r in rows),
        themeless=frozenset(r.id for r in rows if r.theme_id is not None and r.theme_id not in active),
        frames={k: frozenset(v) for k, v in frames.items()},
        shifts=shifts)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _groups(pairs) -> frozenset:
    groups: dict[str, set[str]] = {}
    for article_id, group in pairs:
        if group is not None:
            groups.setdefault(group, set()).add(article_id)
    return frozenset(frozenset(g) for g in groups.values())


def half_written(partial: AnalysisSnapshot, clean: AnalysisSnapshot) -> list[str]:
    """Where an interrupted analysis left an article in a state no whole step produces:
    each result must be either absent or exactly the clean run's."""
    problems = []
    for article_id, result in partial.relevance.items():
        if result[0] is not None and result != clean.relevance[article_id]:
            problems.append(f"{article_id[:12]}: relevance {result} != {clean.relevance[article_id]}")
    for article_id, story in partial.story_of.items():
        if story is not None and story != clean.story_of[article_id]:
            problems.append(f"{article_id[:12]}: story {story} != {clean.story_of[article_id]}")
    for story, (count, members) in partial.story_sizes.items():
        if count != members:
            problems.append(f"story {story}: article_count {count} but {members} members")
    if partial.themeless:
        problems.append(f"{len(partial.themeless)} articles point at no active theme")
    for article_id, found in partial.frames.items():
        if found != clean.frames.get(article_id):
            problems.append(f"{article_id[:12]}: {len(found)} frame rows, clean run has "
                            f"{len(clean.frames.get(article_id, ()))}")
    return problems


def forget_analysis(engine: Engine) -> None:
    """Delete every derived result, leaving the database as ingest left it."""
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            if table.name not in KEPT_TABLES:
                conn.execute(table.delete())
        conn.execute(articles.update().values({c: None for c in ANALYSIS_COLUMNS}))
