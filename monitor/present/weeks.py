"""ISO weeks in the digest's time zone: parsing `YYYY-Www`, their bounds, and when one is due."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from monitor.errors import InputError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEK = re.compile(r"(\d{4})-W(\d{2})")


def week_monday(week: str) -> date:
    """The Monday of an ISO week written `YYYY-Www`; InputError when it is not one."""
    match = _WEEK.fullmatch(week.strip())
    if not match:
        raise InputError(f"--week {week!r}: expected an ISO week such as 2026-W03")
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise InputError(f"--week {week!r}: year {match[1]} has no week {match[2]}") from None


def week_label(day: date) -> str:
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


def week_bounds(week: str, zone: str) -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) of the week in `zone`, as UTC datetimes."""
    monday = week_monday(week)
    tz = ZoneInfo(zone)
    start = datetime.combine(monday, time(0), tz)
    end = datetime.combine(monday + timedelta(days=7), time(0), tz)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def shift_week(week: str, weeks: int) -> str:
    """The ISO week `weeks` after (negative: before) `week`."""
    return week_label(week_monday(week) + timedelta(weeks=weeks))


def last_full_week(now: datetime, zone: str) -> str:
    """The last ISO week that has fully ended at `now` in `zone`."""
    local = now.astimezone(ZoneInfo(zone)).date()
    return week_label(local - timedelta(days=local.weekday() + 7))


def due_week(now: datetime, zone: str, weekday: str, hour: int) -> str | None:
    """The week whose digest is due at `now`: the last full week, once this week's scheduled
    weekday and hour (in `zone`) have passed; None before that moment."""
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    monday = local.date() - timedelta(days=local.weekday())
    scheduled = datetime.combine(monday + timedelta(days=WEEKDAYS.index(weekday)), time(hour), tz)
    return week_label(monday - timedelta(days=7)) if local >= scheduled else None


def period_labels(week: str) -> list[str]:
    """Labels of every period a shift may be recorded under that overlaps the week:
    the ISO week itself, the month(s) and the quarter(s) of its days."""
    monday = week_monday(week)
    labels = [week]
    for offset in range(7):
        day = monday + timedelta(days=offset)
        for label in (f"{day.year}-{day.month:02d}", f"{day.year}-Q{(day.month - 1) // 3 + 1}"):
            if label not in labels:
                labels.append(label)
    return labels
