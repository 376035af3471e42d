"""Boolean topic queries: syntax, stemming-aware phrases, prefixes and Chinese words."""

from __future__ import annotations

import pytest

from monitor.analyze.query import QuerySyntaxError, TokenIndex, matched_terms, parse_query
from monitor.analyze.text import tokenize


def _matches(query: str, text: str, lang: str = "en") -> bool:
    return parse_query(query, lang).matches(TokenIndex(tokenize(text, lang)))


def test_phrases_match_across_inflections_but_not_out_of_order():
    assert _matches('"social credit system"', "China's social-credit systems grow")
    assert not _matches('"social credit system"', "credit for a social system")


def test_and_binds_tighter_than_or_and_adjacent_terms_mean_and():
    query = 'Alberta OR "social credit" China'
    assert _matches(query, "Alberta votes")
    assert _matches(query, "social credit in China")
    assert not _matches(query, "social credit dividend")


def test_not_and_minus_exclude():
    assert _matches('"social credit" NOT Alberta', "social credit explained")
    assert not _matches('"social credit" NOT Alberta', "Alberta's social credit party")
    assert not _matches('"social credit" -Alberta', "Alberta's social credit party")


def test_parentheses_group():
    query = '("social credit" OR blacklist) AND (China OR Beijing)'
    assert _matches(query, "Beijing expands court blacklists")
    assert not _matches(query, "India's defaulter blacklist")


def test_russian_prefixes_cover_stems_the_stemmer_splits():
    # Snowball stems "систему" to "сист" and "кредите" to "кред": prefixes catch every form.
    query = '"сист* социальн* кред*" AND (кита* OR Китая)'
    assert _matches(query, "Китай расширяет систему социального кредита", "ru")
    assert _matches(query, "О системе социальных кредитов Китая", "ru")
    assert not _matches(query, "Банк предложил социальный кредит семьям", "ru")


def test_chinese_terms_are_whole_jieba_words():
    query = "社会信用 OR 失信被执行人"
    assert _matches(query, "加快推进社会信用立法", "zh")
    assert _matches(query, "最高法公布失信被执行人的人数", "zh")
    # 统一社会信用代码 is one word once it is in the dictionary, so 社会信用 is not inside it.
    parse_query("统一社会信用代码", "zh")
    assert not _matches(query, "如何查询统一社会信用代码", "zh")


def test_matched_terms_lists_the_positive_evidence_once():
    node = parse_query('("social credit" OR "social credits") AND China NOT Alberta', "en")
    index = TokenIndex(tokenize("China's social credit system", "en"))
    assert matched_terms(node, index) == ["social credit", "China"]


@pytest.mark.parametrize("bad", ['"open', "(China", "China)", "AND", "China OR", "", "the"])
def test_syntax_errors_say_what_is_wrong(bad):
    with pytest.raises(QuerySyntaxError):
        parse_query(bad, "en")
