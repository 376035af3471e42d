"""`monitor run`: one unattended cycle for cron or a systemd timer.

fetch the due feeds -> analyse what changed -> spike alerts -> the weekly digest when the
configured weekday and hour have passed and that week has not gone out yet. Running it
every 15 minutes or every hour is safe: each part does only what is due.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from sqlalchemy.engine import Engine

from monitor.config import Settings
from monitor.errors import ConfigError
from monitor.present import weeks
from monitor.present.alerts import check_spikes
from monitor.present.digest import build_digest
from monitor.present.mailer import SmtpConfig, send_digest, send_message
from monitor.store import digest as store

Echo = Callable[[str], None]


@dataclass
class CycleReport:
    fetch: dict | None = None
    analysis: dict | None = None
    digest_week: str | None = None       # the week whose digest was due this cycle
    digest_sent: bool = False
    spikes: list[str] = field(default_factory=list)       # "YYYY-MM-DD: N articles (baseline B)"
    alerts_sent: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)         # why something was not sent
    failures: list[str] = field(default_factory=list)      # delivery failures


def run_cycle(engine: Engine, settings: Settings, *, now: datetime | None = None,
              fetch: bool = True, analyze: bool = True, echo: Echo = lambda _: None,
              smtp: SmtpConfig | None = None) -> CycleReport:
    """Do everything that is due now; return what was done and what failed."""
    now = now or datetime.now(timezone.utc)
    report = CycleReport()
    if fetch:
        from monitor.ingest.runner import FetchOptions, run_fetch
        fetched = run_fetch(engine, settings, FetchOptions())
        report.fetch = {**asdict(fetched), "feeds": fetched.feeds}
        echo(f"fetch: {fetched.ok} ok, {fetched.not_modified} not modified, {fetched.failed} failed; "
             f"{fetched.new_articles} new articles")
    if analyze:
        from monitor.analyze.runner import run_analysis
        report.analysis = run_analysis(engine, settings)
        echo("analyze: done")
    smtp = smtp or _smtp_or_note(settings, report)
    _alerts(engine, settings, now, smtp, report, echo)
    _digest(engine, settings, now, smtp, report, echo)
    return report


def _smtp_or_note(settings: Settings, report: CycleReport) -> SmtpConfig | None:
    if not settings.digest.recipients:
        report.notes.append("digest.recipients is empty: nothing is mailed")
        return None
    try:
        return SmtpConfig.from_settings(settings)
    except ConfigError as exc:
        report.notes.append(f"mail not sent: {exc.problems[0]}")
        return None


def _alerts(engine: Engine, settings: Settings, now: datetime, smtp: SmtpConfig | None,
            report: CycleReport, echo: Echo) -> None:
    deliver = (lambda message, recipients: send_message(message, recipients, smtp)) if smtp else None
    run = check_spikes(engine, settings, now=now, deliver=deliver)
    for spike in run.spikes:
        line = f"{spike.day}: {spike.articles} articles (baseline {spike.baseline:.1f}/day)"
        report.spikes.append(line)
        echo(f"spike {line}" + (" - alert sent" if str(spike.day) in run.sent else ""))
    report.alerts_sent = run.sent
    report.failures += run.failures


def _digest(engine: Engine, settings: Settings, now: datetime, smtp: SmtpConfig | None,
            report: CycleReport, echo: Echo) -> None:
    digest = settings.digest
    week = weeks.due_week(now, digest.timezone, digest.weekday, digest.hour)
    if week is None:
        return
    with engine.connect() as conn:
        if store.digest_record(conn, week):
            return
    report.digest_week = week
    if smtp is None:
        echo(f"digest {week} is due but cannot be mailed")
        return
    sent = send_digest(engine, settings, build_digest(engine, settings, week, now=now), config=smtp)
    delivery = sent.delivery
    report.digest_sent = bool(delivery and delivery.delivered)
    if delivery:
        report.failures += [f"{r}: {why}" for r, why in delivery.refused.items()]
        report.failures += [delivery.error] if delivery.error else []
        echo(f"digest {week}: sent to {len(delivery.delivered)} of {len(digest.recipients)} recipients")
