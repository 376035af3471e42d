"""Boolean topic queries: syntax, stemming-aware phrases, prefixes and Chinese words."""

from __future__ import annotations

import pytest

from monitor.analyze.query import (
    QuerySyntaxError, TermList, TokenIndex, make_term, matched_terms, parse_query,
)
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


def test_a_term_list_finds_what_checking_each_term_finds_in_order():
    terms = [make_term(t, "ru") for t in ("кредит", "сист* социальн*", "социального кредита",
                                            "Китай", "кредиты", "кит*", "рейтинг", "с*")]
    found = TermList(terms)
    for text in ("Китай строит систему социального кредита, кредиты и рейтинги", "кредит",
                 "социального", "", "китовый рейтинг систем социальных"):
        index = TokenIndex(tokenize(text, "ru"))
        expected = [t for t in terms if t.matches(index)]
        assert found.matching(index) == expected
        assert found.any_match(index) == bool(expected)
    index = TokenIndex(tokenize("Китай строит систему социального кредита", "ru"))
    assert [t.text for t in found.matching(index)] == [   # "кредит" stems to кред
        "сист* социальн*", "социального кредита", "Китай", "кредиты", "кит*", "с*"]


def test_an_or_of_many_terms_matches_as_any_of_them():
    node = parse_query('Alberta OR "social credit" OR kredit* OR (China AND Beijing) OR NOT dividend', "en")
    for text, expected in [("Alberta", True), ("social credit", True), ("kreditor", True),
                           ("China Beijing dividend", True), ("China dividend", False),
                           ("credit social dividend", False), ("nothing here", True)]:
        assert node.matches(TokenIndex(tokenize(text, "en"))) is expected, text


@pytest.mark.parametrize("bad", ['"open', "(China", "China)", "AND", "China OR", "", "the"])
def test_syntax_errors_say_what_is_wrong(bad):
    with pytest.raises(QuerySyntaxError):
        parse_query(bad, "en")
