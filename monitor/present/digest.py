"""The weekly digest: what changed this week, with evidence, as data, HTML, text and email.

`build_digest` reads everything from the store into a `Digest` (plain data the templates
render); `write_digest` writes the .html, .txt and .eml files. Sending is mailer.py's job.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.engine import Connection, Engine

from monitor.config import Settings
from monitor.errors import InputError
from monitor.present import weeks
from monitor.present.digest_chart import frame_share_chart_png
from monitor.analyze.distinctive import distinctive_terms
from monitor.store import digest as store

TEMPLATES = Path(__file__).resolve().parent / "templates"
QUIET_ARTICLES = 5          # fewer relevant articles than this and no shift: a quiet week
GROWTH_FACTOR = 1.5         # a theme grows when this week beats its 4-week average by this
GROWTH_MIN_ARTICLES = 3
CHART_WEEKS = 8
STALE_DAYS = 3              # a feed without success for this long is a problem
CHART_CID = "frame-chart"
RISING_TERMS = 12


@dataclass(frozen=True)
class Number:
    """One headline number against the previous week and the 4-week average before it."""

    name: str
    value: int
    previous: int
    average: float

    @property
    def change(self) -> str:
        if self.previous == 0:
            return "new" if self.value else "="
        pct = round(100 * (self.value - self.previous) / self.previous)
        return f"{pct:+d}%" if pct else "="


@dataclass(frozen=True)
class Link:
    title: str
    url: str | None       # http(s) only; None when the article has no usable link
    outlet: str = ""
    language: str = ""
    date: str = ""


@dataclass(frozen=True)
class StoryItem:
    headline: str
    url: str | None
    outlets: int
    languages: tuple[str, ...]
    articles: int
    new: bool


@dataclass(frozen=True)
class ThemeItem:
    label: str
    terms: tuple[str, ...]
    articles: int
    average: float        # articles per week over the 4 weeks before


@dataclass(frozen=True)
class ShiftItem:
    frame: str
    scope: str            # "all coverage" or "group: western", ...
    period: str
    share: float
    baseline_share: float
    effect: float
    ci_low: float | None
    ci_high: float | None
    n: int
    evidence: tuple[Link, ...]


@dataclass(frozen=True)
class GroupMix:
    group: str
    articles: int
    frames: tuple[tuple[str, float], ...]   # (frame label, share) most frequent first
    distinct: str | None                    # the frame this group over-uses most vs the rest


@dataclass(frozen=True)
class FeedProblem:
    name: str
    problem: str


@dataclass
class Digest:
    """Everything the digest templates show for one ISO week."""

    week: str
    topic: str
    start: datetime                   # local Monday 00:00 (the configured time zone)
    end: datetime                     # local next Monday 00:00
    timezone: str
    generated_at: datetime
    numbers: list[Number]
    stories: list[StoryItem] = field(default_factory=list)
    new_themes: list[ThemeItem] = field(default_factory=list)
    growing_themes: list[ThemeItem] = field(default_factory=list)
    shifts: list[ShiftItem] = field(default_factory=list)
    chart_png: bytes | None = None
    rising_terms: list[tuple[str, float]] = field(default_factory=list)
    groups: list[GroupMix] = field(default_factory=list)
    feed_problems: list[FeedProblem] = field(default_factory=list)
    dashboard_url: str | None = None
    subject_prefix: str = "[monitor]"
    sender: str = "monitor@localhost"
    recipients: tuple[str, ...] = ()
    list_unsubscribe: str | None = None

    @property
    def articles(self) -> int:
        return self.numbers[0].value if self.numbers else 0

    @property
    def quiet(self) -> bool:
        return self.articles < QUIET_ARTICLES and not self.shifts

    @property
    def period_text(self) -> str:
        last = self.end - timedelta(days=1)
        return f"{self.start:%d %b} – {last:%d %b %Y}"

    @property
    def subject(self) -> str:
        summary = (f"a quiet week, {self.articles} articles" if self.quiet
                   else f"{self.articles} articles, {len(self.stories)} top stories, "
                        f"{len(self.shifts)} framing shifts")
        return f"{self.subject_prefix} {self.topic}: week {self.week} ({summary})".strip()

    def to_json(self) -> dict[str, Any]:
        """The digest as JSON-ready data (the chart as its byte count only)."""
        data = asdict(self)
        data["chart_png"] = len(self.chart_png) if self.chart_png else 0
        data.update(quiet=self.quiet, subject=self.subject)
        return data


def safe_url(url: str | None) -> str | None:
    """The URL when it is an absolute http(s) link; anything else (javascript:, data:, relative)
    is dropped so no template can emit it."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() in ("http", "https") and parts.netloc and not any(c in url for c in "\r\n\t"):
        return url.strip()
    return None


# --- building ---

def build_digest(engine: Engine, settings: Settings, week: str | None = None, *,
                 now: datetime | None = None) -> Digest:
    """The digest of `week` ("YYYY-Www"; default the last full ISO week in the digest's zone)."""
    now = now or datetime.now(timezone.utc)
    zone = settings.digest.timezone
    week = week or weeks.last_full_week(now, zone)
    start, end = weeks.week_bounds(week, zone)
    if start > now:
        raise InputError(f"--week {week}: that week has not started yet")
    labels = _frame_labels(settings)
    with engine.connect() as conn:
        digest = Digest(
            week=week, topic=settings.topic.name, start=start.astimezone(ZoneInfo(zone)),
            end=end.astimezone(ZoneInfo(zone)), timezone=zone, generated_at=now,
            numbers=_numbers(conn, week, zone), dashboard_url=safe_url(settings.digest.dashboard_url),
            subject_prefix=settings.digest.subject_prefix, sender=settings.digest.sender,
            recipients=settings.digest.recipients, list_unsubscribe=settings.digest.list_unsubscribe)
        digest.stories = _stories(conn, start, end)
        digest.new_themes, digest.growing_themes = _themes(conn, week, zone)
        digest.shifts = _shifts(conn, week, labels)
        digest.chart_png = _chart(conn, week, zone, digest.shifts, labels)
        digest.rising_terms = _rising(conn, week, zone)
        digest.groups = _groups(conn, start, end, labels)
        digest.feed_problems = _feed_problems(conn, now)
    return digest


def _frame_labels(settings: Settings) -> dict[str, str]:
    try:
        from monitor.analyze.codebook import codebook_for
        return {frame.id: frame.label for frame in codebook_for(settings.frames).frames}
    except Exception:   # a broken codebook must not stop the digest; ids are shown instead
        return {}


def _numbers(conn: Connection, week: str, zone: str) -> list[Number]:
    windows = [store.window_numbers(conn, *weeks.week_bounds(weeks.shift_week(week, -k), zone))
               for k in range(5)]
    names = {"articles": "relevant articles", "outlets": "outlets", "languages": "languages",
             "stories": "stories covered", "new_stories": "new stories"}
    return [Number(name=label, value=windows[0][key], previous=windows[1][key],
                   average=sum(w[key] for w in windows[1:]) / 4) for key, label in names.items()]


def _stories(conn: Connection, start: datetime, end: datetime) -> list[StoryItem]:
    return [StoryItem(headline=row["headline"], url=safe_url(row["url"]), outlets=row["outlets"],
                      languages=tuple(row["language_codes"]), articles=row["articles"],
                      new=start <= row["first_seen"] < end)
            for row in store.top_stories(conn, start, end)]


def _themes(conn: Connection, week: str, zone: str) -> tuple[list[ThemeItem], list[ThemeItem]]:
    start, end = weeks.week_bounds(week, zone)
    current = store.theme_counts(conn, start, end)
    before = [store.theme_counts(conn, *weeks.week_bounds(weeks.shift_week(week, -k), zone))
              for k in range(1, 5)]
    average = {tid: sum(counts.get(tid, 0) for counts in before) / 4 for tid in current}
    born = [tid for tid in store.themes_born(conn, start, end) if current.get(tid)]
    growing = sorted((tid for tid, n in current.items() if tid not in born and n >= GROWTH_MIN_ARTICLES
                      and n >= GROWTH_FACTOR * max(average[tid], 1.0)),
                     key=lambda tid: current[tid] - average[tid], reverse=True)[:5]
    rows = store.theme_rows(conn, born + growing)

    def item(tid: str) -> ThemeItem:
        row = rows.get(tid, {})
        return ThemeItem(label=row.get("label") or tid, terms=tuple((row.get("terms") or [])[:6]),
                         articles=current.get(tid, 0), average=average.get(tid, 0.0))
    return [item(t) for t in born[:5]], [item(t) for t in growing]


def _shifts(conn: Connection, week: str, labels: dict[str, str]) -> list[ShiftItem]:
    items = []
    for row in store.shifts_in_periods(conn, weeks.period_labels(week)):
        evidence = store.article_links(conn, (row["evidence"] or [])[:5])
        scope = "all coverage" if row["scope_kind"] == "all" else f"{row['scope_kind']}: {row['scope']}"
        items.append(ShiftItem(
            frame=labels.get(row["frame"], row["frame"]), scope=scope, period=row["period"],
            share=row["share"], baseline_share=row["baseline_share"], effect=row["effect"],
            ci_low=row["ci_low"], ci_high=row["ci_high"], n=row["n"],
            evidence=tuple(_link(a) for a in evidence)))
    return items


def _link(row: dict) -> Link:
    published = row.get("published_at")
    return Link(title=row.get("title") or "(untitled)", url=safe_url(row.get("url")),
                outlet=row.get("outlet") or "", language=row.get("language") or "",
                date=published.strftime("%Y-%m-%d") if published else "")


def _chart(conn: Connection, week: str, zone: str, shifts: list[ShiftItem],
           labels: dict[str, str]) -> bytes | None:
    if not shifts:
        return None
    wanted = {fid for fid, label in labels.items() if label in {s.frame for s in shifts}}
    wanted |= {s.frame for s in shifts}
    points = []
    for k in range(CHART_WEEKS - 1, -1, -1):
        label = weeks.shift_week(week, -k)
        start, end = weeks.week_bounds(label, zone)
        scored = store.scored_counts_by(conn, start, end, by_group=False).get("all", 0)
        carried = {row["frame"]: row["articles"]
                   for row in store.frame_counts_by(conn, start, end, by_group=False, frames=wanted)}
        for frame in sorted(wanted):
            if frame in labels or frame in carried:
                points.append({"week": label[-3:], "frame": labels.get(frame, frame),
                               "share": carried.get(frame, 0) / scored if scored else 0.0})
    return frame_share_chart_png(points, highlight_week=week[-3:])


def _rising(conn: Connection, week: str, zone: str) -> list[tuple[str, float]]:
    current = store.token_lists(conn, *weeks.week_bounds(week, zone))
    start, _ = weeks.week_bounds(weeks.shift_week(week, -4), zone)
    _, end = weeks.week_bounds(weeks.shift_week(week, -1), zone)
    baseline = store.token_lists(conn, start, end)
    if not current or not baseline:
        return []
    rising, _ = distinctive_terms(current, baseline, top=RISING_TERMS)
    # Only clearly significant words (|z| > 1.96) seen in a few articles this week.
    return [(t.term, round(t.z, 1)) for t in rising if t.z > 1.96 and t.count_a >= 3]


def _groups(conn: Connection, start: datetime, end: datetime, labels: dict[str, str]) -> list[GroupMix]:
    scored = store.scored_counts_by(conn, start, end, by_group=True)
    carried: dict[str, dict[str, int]] = {}
    for row in store.frame_counts_by(conn, start, end, by_group=True):
        carried.setdefault(row["scope"], {})[row["frame"]] = row["articles"]
    if len(scored) < 2:
        return []   # with one group there is nothing to compare
    total = sum(scored.values())
    mixes = []
    for group, n in sorted(scored.items(), key=lambda kv: (-kv[1], kv[0])):
        mine = carried.get(group, {})
        shares = sorted(((f, c / n) for f, c in mine.items()), key=lambda fc: (-fc[1], fc[0]))
        mixes.append(GroupMix(group=group, articles=n,
                              frames=tuple((labels.get(f, f), s) for f, s in shares[:3]),
                              distinct=_most_overused(group, mine, n, carried, total, scored, labels)))
    return mixes


def _most_overused(group: str, mine: dict[str, int], n: int, carried: dict[str, dict[str, int]],
                   total: int, scored: dict[str, int], labels: dict[str, str]) -> str | None:
    """The frame whose share in `group` most exceeds its share in all other groups together."""
    rest_n = total - n
    if rest_n <= 0:
        return None
    best, best_gap = None, 0.10   # differences under 10 points are not worth a line
    for frame, count in mine.items():
        rest = sum(c.get(frame, 0) for g, c in carried.items() if g != group)
        gap = count / n - rest / rest_n
        if gap > best_gap:
            best, best_gap = frame, gap
    return labels.get(best, best) if best else None


def _feed_problems(conn: Connection, now: datetime) -> list[FeedProblem]:
    problems = []
    for row in store.feed_problems(conn, now - timedelta(days=STALE_DAYS)):
        if row["flagged"]:
            text = f"flagged as broken ({row['last_error_class'] or 'error'})"
        elif row["consecutive_failures"]:
            text = f"{row['consecutive_failures']} failures in a row ({row['last_error_class'] or 'error'})"
        elif row["parse_warning"]:
            text = f"parse warning: {row['parse_warning']}"
        else:
            last = row["last_success_at"]
            text = f"no successful fetch since {last:%Y-%m-%d}" if last else "never fetched successfully"
        problems.append(FeedProblem(name=row["name"], problem=text[:200]))
    return problems


# --- rendering ---

@cache
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                      autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["pct"] = lambda value: f"{100 * value:.0f}%"
    env.filters["points"] = lambda value: f"{100 * value:+.0f} pts"
    env.filters["safe_url"] = safe_url
    return env


def render_html(digest: Digest, *, chart_src: str | None = None) -> str:
    """The HTML digest with its <style> block (mail clients need it inlined: email_message)."""
    if chart_src is None and digest.chart_png:
        chart_src = "data:image/png;base64," + base64.b64encode(digest.chart_png).decode("ascii")
    return _environment().get_template("digest.html.j2").render(d=digest, chart_src=chart_src)


def render_text(digest: Digest) -> str:
    return _environment().get_template("digest.txt.j2").render(d=digest)


def write_digest(digest: Digest, out_dir: Path) -> list[Path]:
    """Write digest-<week>.html (chart embedded), .txt and .eml into `out_dir`."""
    from monitor.present.email_message import digest_message

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        base = out_dir / f"digest-{digest.week}"
        paths = [base.with_suffix(".html"), base.with_suffix(".txt"), base.with_suffix(".eml")]
        paths[0].write_text(render_html(digest), encoding="utf-8")
        paths[1].write_text(render_text(digest), encoding="utf-8")
        paths[2].write_bytes(bytes(digest_message(digest)))
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot write the digest: {exc.strerror}") from None
    return paths
