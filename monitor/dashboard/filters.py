"""The global filters: dates, languages, groups, outlets and the period of time series.

They live in st.session_state (so they persist across pages) and are mirrored in the
URL's query parameters (so a view can be shared as a link): the URL is read once per
session, and rewritten after every change.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import streamlit as st

from monitor.store.views import ArticleFilter

DEFAULT_DAYS = 365
PERIOD_CHOICES = ("week", "month", "quarter")
FACETS = {"lang": ("f_languages", "languages"), "group": ("f_groups", "groups"),
          "outlet": ("f_outlets", "outlets")}
EARLIEST = date(2000, 1, 1)


def _parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def default_dates(options: dict) -> tuple[date, date]:
    """The year up to the newest article (today on an empty database)."""
    last = options.get("last")
    end = last.date() if last else datetime.now(timezone.utc).date()
    return end - timedelta(days=DEFAULT_DAYS), end


def _load_from_url(options: dict) -> None:
    """Seed the widgets' state from the query parameters, keeping only known values."""
    params = st.query_params
    start, end = default_dates(options)
    start = _parse_date(params.get("from")) or start
    end = _parse_date(params.get("to")) or end
    st.session_state["f_dates"] = (min(start, end), max(start, end))
    for param, (key, option) in FACETS.items():
        st.session_state[key] = [v for v in params.get_all(param) if v in options[option]]
    period = params.get("period")
    st.session_state["f_period"] = period if period in PERIOD_CHOICES else "month"


def _write_to_url() -> None:
    start, end = current_dates()
    st.query_params["from"] = start.isoformat()
    st.query_params["to"] = end.isoformat()
    for param, (key, _) in FACETS.items():
        values = st.session_state.get(key) or []
        if values:
            st.query_params[param] = list(values)
        elif param in st.query_params:
            del st.query_params[param]
    st.query_params["period"] = st.session_state["f_period"]


def current_dates() -> tuple[date, date]:
    """The chosen first and last day (a half-picked range counts as one day)."""
    chosen = st.session_state.get("f_dates") or ()
    if isinstance(chosen, date):
        chosen = (chosen,)
    if not chosen:
        today = datetime.now(timezone.utc).date()
        return today - timedelta(days=DEFAULT_DAYS), today
    return chosen[0], chosen[-1]


def sidebar(options: dict) -> ArticleFilter:
    """Draw the filters in the sidebar and return them; keeps the URL in step."""
    if not st.session_state.get("f_loaded"):
        _load_from_url(options)
        st.session_state["f_loaded"] = True
    with st.sidebar:
        st.header("Filters")
        st.date_input("Dates", key="f_dates", min_value=EARLIEST,
                      max_value=max(default_dates(options)[1], datetime.now(timezone.utc).date()) + timedelta(days=1),
                      help="Published between these days (UTC), both included.")
        st.multiselect("Language", options["languages"], key="f_languages",
                       help="Only articles in these languages; none chosen means all.")
        st.multiselect("Source group", options["groups"], key="f_groups",
                       help="Only outlets of these groups; none chosen means all.")
        st.multiselect("Outlet", options["outlets"], key="f_outlets",
                       help="Only these outlets; none chosen means all.")
        st.selectbox("Period", PERIOD_CHOICES, key="f_period", help="Bucket of every time series.")
    _write_to_url()
    return current()


def current() -> ArticleFilter:
    """The filters as chosen in this session (defaults before the sidebar ran)."""
    start, end = current_dates()
    return ArticleFilter(
        start=datetime.combine(start, time.min, tzinfo=timezone.utc),
        end=datetime.combine(end + timedelta(days=1), time.min, tzinfo=timezone.utc),
        languages=tuple(st.session_state.get("f_languages") or ()),
        groups=tuple(st.session_state.get("f_groups") or ()),
        outlets=tuple(st.session_state.get("f_outlets") or ()),
    )


def period() -> str:
    return st.session_state.get("f_period") or "month"
