"""Spike alerts: a day whose relevant volume far exceeds its trailing baseline.

A day spikes when it has at least `spike_min_articles` articles and more than
`spike_factor` times the mean of the 14 days before it (a floor of one article a day keeps
a quiet topic from alerting on its first few articles). Days are calendar days in the
digest's time zone. A spike alerts once: a day with a record, or the day after one that
alerted (a spike spilling over midnight), never alerts again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from jinja2 import Environment
from sqlalchemy.engine import Engine

from monitor.config import Settings
from monitor.present.digest import safe_url
from monitor.present.email_message import compose
from monitor.store import digest as store

BASELINE_DAYS = 14
BASELINE_FLOOR = 1.0


@dataclass(frozen=True)
class Spike:
    day: date
    articles: int
    baseline: float              # mean articles per day over the BASELINE_DAYS before
    stories: tuple[dict, ...] = ()   # headline, articles, outlets of the stories behind it

    @property
    def ratio(self) -> float:
        return self.articles / max(self.baseline, BASELINE_FLOOR)


def detect_spike(daily: dict[date, int], day: date, *, factor: float, min_articles: int,
                 window: int = BASELINE_DAYS) -> Spike | None:
    """The spike on `day` given article counts per day (missing days count as zero)."""
    count = daily.get(day, 0)
    baseline = sum(daily.get(day - timedelta(days=k), 0) for k in range(1, window + 1)) / window
    if count >= min_articles and count > factor * max(baseline, BASELINE_FLOOR):
        return Spike(day=day, articles=count, baseline=baseline)
    return None


def daily_counts(times: Iterable[datetime], zone: str) -> dict[date, int]:
    tz = ZoneInfo(zone)
    return dict(Counter(t.astimezone(tz).date() for t in times))


@dataclass
class AlertRun:
    spikes: list[Spike] = field(default_factory=list)        # new spikes found this run
    sent: list[str] = field(default_factory=list)            # days alerted
    failures: list[str] = field(default_factory=list)


def check_spikes(engine: Engine, settings: Settings, *, now: datetime | None = None,
                 deliver: Callable[[object, list[str]], object] | None = None) -> AlertRun:
    """Look at yesterday and today (so far); alert once for each new spike.

    `deliver(message, recipients)` sends and returns a mailer.Delivery; without it (no SMTP
    configured) spikes are reported but not recorded, so they alert once mail works."""
    now = now or datetime.now(timezone.utc)
    zone = settings.digest.timezone
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    days = [today - timedelta(days=1), today]
    run = AlertRun()
    with engine.connect() as conn:
        start = _local_midnight(days[0] - timedelta(days=BASELINE_DAYS), tz)
        counts = daily_counts(store.published_times(conn, start, _local_midnight(today + timedelta(days=1), tz)), zone)
        known = store.alert_days(conn, [str(d) for d in [days[0] - timedelta(days=1), *days]])
        for day in days:
            if str(day) in known or str(day - timedelta(days=1)) in known:
                continue
            spike = detect_spike(counts, day, factor=settings.digest.spike_factor,
                                 min_articles=settings.digest.spike_min_articles)
            if spike:
                stories = store.top_stories_of_day(conn, _local_midnight(day, tz),
                                                   _local_midnight(day + timedelta(days=1), tz))
                run.spikes.append(Spike(spike.day, spike.articles, spike.baseline, tuple(stories)))
    for spike in run.spikes:
        _alert(engine, settings, spike, now, deliver, run)
    return run


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(timezone.utc)


def _alert(engine: Engine, settings: Settings, spike: Spike, now: datetime, deliver, run: AlertRun) -> None:
    if deliver is None or not settings.digest.recipients:
        return
    delivery = deliver(alert_message(spike, settings, now=now), list(settings.digest.recipients))
    if delivery.delivered:
        with engine.begin() as conn:
            store.record_alert(conn, str(spike.day), sent_at=now, detail={
                "articles": spike.articles, "baseline": round(spike.baseline, 2),
                "stories": [s["headline"] for s in spike.stories], "recipients": delivery.delivered})
        run.sent.append(str(spike.day))
    for recipient, reason in delivery.refused.items():
        run.failures.append(f"{recipient}: {reason}")
    if delivery.error:
        run.failures.append(delivery.error)


_TEXT = """{{ topic }}: {{ s.articles }} relevant articles on {{ s.day }}, {{ "%.1f"|format(s.ratio) }} times the \
{{ days }}-day average of {{ "%.1f"|format(s.baseline) }} a day.
{% if s.stories %}

The stories behind it:
{% for st in s.stories %}
- {{ st.headline }} ({{ st.articles }} articles, {{ st.outlets }} outlets)
{% endfor %}
{% endif %}
{% if dashboard %}

Dashboard: {{ dashboard }}
{% endif %}
"""

_HTML = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body { font-family: Helvetica, Arial, "Noto Sans CJK SC", sans-serif; color: #1d1d1b; font-size: 15px; }
.muted { color: #6b6b66; font-size: 13px; }
</style></head><body>
<p><strong>{{ s.articles }}</strong> relevant articles on {{ s.day }}: {{ "%.1f"|format(s.ratio) }}× the
{{ days }}-day average of {{ "%.1f"|format(s.baseline) }} a day.</p>
{% if s.stories %}<p>The stories behind it:</p><ul>
{% for st in s.stories %}<li>{{ st.headline }} <span class="muted">{{ st.articles }} articles, {{ st.outlets }} outlets</span></li>
{% endfor %}</ul>{% endif %}
{% if dashboard %}<p><a href="{{ dashboard }}">Open the dashboard</a></p>{% endif %}
</body></html>"""

_env = Environment(autoescape=False, trim_blocks=True, lstrip_blocks=True)
_html_env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)


def alert_message(spike: Spike, settings: Settings, *, now: datetime | None = None):
    """A short email naming the day, its volume against the baseline and the stories behind it."""
    values = dict(s=spike, days=BASELINE_DAYS, topic=settings.topic.name,
                  dashboard=safe_url(settings.digest.dashboard_url))
    lead = spike.stories[0]["headline"] if spike.stories else ""
    subject = (f"{settings.digest.subject_prefix} Spike: {spike.articles} articles on {spike.day}"
               + (f": {lead}" if lead else ""))
    return compose(subject=subject, sender=settings.digest.sender,
                   recipients=settings.digest.recipients,
                   text=_env.from_string(_TEXT).render(**values),
                   html=_html_env.from_string(_HTML).render(**values),
                   list_unsubscribe=settings.digest.list_unsubscribe, now=now)

