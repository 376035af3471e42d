"""The dashboard's pure helpers: hostile text made literal, link checks, periods and shares."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from monitor.dashboard import safe, shape, words


@pytest.mark.parametrize("text", [
    "<script>alert(1)</script>",
    "[click](javascript:alert(1))",
    "**bold** _it_ `code` # heading",
    ":red[colour] :smile: $x^2$",
    "Социальный рейтинг: мифы · 社会信用",
])
def test_literal_escapes_every_markdown_construct(text):
    escaped = safe.literal(text)
    unescaped = escaped.replace("\\", "")
    assert unescaped == text   # nothing lost, only escaped
    for mark in "<>[]()*_`#:$":
        assert mark not in escaped.replace("\\" + mark, "")   # every such character is escaped


def test_literal_flattens_newlines_that_could_start_blocks():
    assert safe.literal("line one\n# not a heading\n- not a list") == \
        "line one \\# not a heading \\- not a list"


@pytest.mark.parametrize("url, expected", [
    ("https://example.org/a?b=1", "https://example.org/a?b=1"),
    ("HTTP://EXAMPLE.ORG/", "HTTP://EXAMPLE.ORG/"),
    ("javascript:alert(1)", None),
    ("JaVaScRiPt:alert(1)", None),
    ("data:text/html,<script>1</script>", None),
    ("//example.org/a", None),
    ("https://example.org/a b", None),
    ("https://exa\nmple.org/", None),
    ("", None),
    (None, None),
])
def test_only_absolute_http_urls_become_links(url, expected):
    assert safe.http_url(url) == expected


@pytest.mark.parametrize("label, start", [
    ("2019-06", datetime(2019, 6, 1)),
    ("2019-Q2", datetime(2019, 4, 1)),
    ("2019-W23", datetime(2019, 6, 3)),
    ("2019-06-05", datetime(2019, 6, 5)),
    ("2019-13", None),
    ("someday", None),
])
def test_period_labels_of_shifts_map_to_their_start(label, start):
    assert shape.period_start(label) == (start.replace(tzinfo=timezone.utc) if start else None)


def test_change_against_the_previous_period():
    assert shape.change(5, 2) == "+150%"
    assert shape.change(1, 4) == "-75%"
    assert shape.change(3, 0) == "new"
    assert shape.change(0, 0) is None


def test_frame_shares_fill_periods_without_the_frame_with_zero():
    carried = [{"day": "2026-01-05", "scope": "all", "frame": "law", "articles": 2}]
    scored = [{"day": "2026-01-05", "scope": "all", "articles": 4},
              {"day": "2026-02-10", "scope": "all", "articles": 3}]
    shares = shape.frame_shares(carried, scored, "month", {"law": "Law"})
    assert shares[["carried", "scored", "share", "label"]].values.tolist() == [[2, 4, 0.5, "Law"], [0, 3, 0.0, "Law"]]
    assert shares["low"][1] == 0.0 and 0.4 < shares["high"][1] < 0.8   # Wilson: 0 of 3 is not "surely 0"


def test_by_period_sums_days_into_weeks():
    rows = [{"day": "2026-11-23", "group": "a", "articles": 1}, {"day": "2026-11-29", "group": "a", "articles": 2},
            {"day": "2026-11-30", "group": "a", "articles": 4}]
    weekly = shape.by_period(rows, "week", ["group"])
    assert weekly["articles"].tolist() == [3, 4]
    assert weekly["period"].tolist() == [datetime(2026, 11, 23), datetime(2026, 11, 30)]


def test_stems_read_as_the_words_that_produced_them():
    texts = [("Companies say the company law binds companies", "en"),
             ("Социальный рейтинг: китайская система и социальные сети", "ru"),
             ("社会信用体系", "zh")]
    forms = words.surface_forms(["compani", "социальн", "китайск", "law", "信用", "absent"], texts)
    assert forms == {"compani": "companies", "социальн": "социальный", "китайск": "китайская", "law": "law"}
    assert words.readable_label("compani · социальн · 信用", forms) == "companies · социальный · 信用"
    assert words.readable("social compani", forms) == "social companies"
