"""The concept glossary: phrases per language, matched on cached tokens."""

from __future__ import annotations

from pathlib import Path

from monitor.analyze.glossary import Glossary
from monitor.analyze.text import add_zh_words, stem_phrase, tokenize
from monitor.config import load_settings


def test_chinese_words_are_taken_whole_as_jieba_would_after_learning_them():
    topic = load_settings(Path(__file__).resolve().parents[1] / "feeds.yaml").topic.glossary
    topic = {**topic, "mixed": {"zh": ["信用 code", "的"], "ja": ["信用スコア"]}}   # jieba's path
    glossary = Glossary(topic)
    expected: dict[str, list] = {}
    for concept, terms_by_language in topic.items():
        for language, terms in terms_by_language.items():
            if language == "zh":
                add_zh_words(terms)
            for term in terms:
                if phrase := stem_phrase(term, language):
                    expected.setdefault(phrase[0], []).append((phrase, f"c:{concept}"))
    assert glossary._by_first == expected
    assert ("社会信用体系",) in [phrase for phrase, _ in expected["社会信用体系"]]


def test_phrases_match_in_every_language_as_concept_features():
    index = Glossary({"travel bans": {"en": ["travel ban"], "ru": ["запрет на поездки"], "zh": ["限制乘坐"]},
                      "courts": {"en": ["courts"]}})
    add_zh_words(["限制乘坐"])
    assert index.concepts(tokenize("Courts widen travel bans; a ban on travel", "en")) == [
        "c:courts", "c:travel bans"]
    assert index.concepts(tokenize("Запрет на поездки для должников", "ru")) == ["c:travel bans"]
    assert index.concepts(tokenize("失信被执行人将被限制乘坐火车", "zh")) == ["c:travel bans"]
