"""The shared tokenizer: stems for English and Russian, whole dictionary words for Chinese."""

from __future__ import annotations

import itertools
import pickle
import random
import threading

import pytest

from monitor.analyze import text
from monitor.analyze.text import (
    TOKENIZER_VERSION, add_zh_words, contains_phrase, make_vectorizer, ngrams, phrase_positions,
    stem_phrase, tokenize, zh_dictionary,
)

CHINESE = ("国家发展改革委、人民银行印发《关于加快推进社会信用体系建设的指导意见》，要求各地建立"
           "失信被执行人名单制度。芝麻信用分在杭州试点；王小明说：这是一个新词汇吗？"
           "龘靐齉爩 㐀㐁 鿖鿿 豈更 統一社会信用代码")


def test_english_is_lower_cased_stemmed_and_stop_words_dropped():
    tokens = tokenize("China's Social-Credit Systems: the 2018 plans for 37 cities", "en")
    assert tokens == ["china", "social", "credit", "system", "2018", "plan", "citi"]


def test_curly_apostrophes_and_full_width_text_are_normalised():
    assert tokenize("China’s ＳＯＣＩＡＬ credit", "en") == ["china", "social", "credit"]


def test_russian_forms_share_a_stem():
    a = tokenize("Система социального кредита", "ru")
    b = tokenize("системы социальных кредитов", "ru")
    assert a == b == ["систем", "социальн", "кредит"]
    assert tokenize("ещё и в Китае", "ru") == ["кита"]   # stop words, ё folded


def test_latin_words_in_russian_or_chinese_use_english_rules():
    assert tokenize("Alibaba и Sesame Credit", "ru") == ["alibaba", "sesam", "credit"]
    assert tokenize("Scores 分数", "zh")[0] == "score"


def test_chinese_dictionary_words_stay_whole():
    add_zh_words(["社会信用体系", "失信被执行人", "芝麻信用", "统一社会信用代码", "社会信用"])
    # (Other tests add longer words such as 社会信用体系建设; this text avoids them.)
    tokens = tokenize("统一社会信用代码查询指南：社会信用体系的进展与失信被执行人的权利，芝麻信用的用户。", "zh")
    assert tokens[0] == "统一社会信用代码"
    assert "社会信用体系" in tokens and "失信被执行人" in tokens and "芝麻信用" in tokens
    assert "社会信用" not in tokens           # never a piece of the registration code
    assert "的" not in tokenize("社会信用的建设", "zh")
    assert {"社会信用体系", "芝麻信用"} <= zh_dictionary()


def test_chinese_inside_an_english_article_is_segmented():
    add_zh_words(["社会信用体系"])
    assert tokenize("The term 社会信用体系 means", "en") == ["term", "社会信用体系", "mean"]


def _random_cjk_runs(count: int) -> list[str]:
    rng = random.Random(3)
    common = list("社会信用体系统一代码的了是人民中国家银行失信被执行名单杭州试点王小明说这新词")
    # outside jieba's range, and characters its HMM has no emission for in some states (ties)
    rare = ["\u3400", "\u4dbf", "\u9fd6", "\u9fff", "\ufa6e", "\ufa70", "龘", "爩", *"丂丆丌丒丄丅丏両"]
    short = ["".join(p) for n in range(1, 6) for p in itertools.product("丄丂丌社", repeat=n)]
    ties = ["丌社社社社社", "亀社社社社社", "的社社社社社"]   # equal HMM scores decide these
    return short + ties + ["".join(rng.choices(common + rare, k=rng.randint(1, 40))) for _ in range(count)]


def test_chinese_words_are_jieba_s_accurate_mode_with_hmm():
    add_zh_words(["社会信用体系", "失信被执行人名单"])
    stops = text.stop_word_set("zh")
    runs = text._CJK_RUN.findall(CHINESE) + _random_cjk_runs(3000)
    for run in runs + runs:   # the second time from the HMM memo
        expected = [w for w in text._segmenter().cut(run) if w not in stops]
        assert text._zh_tokens(run) == expected
    assert "失信被执行人名单" in tokenize(CHINESE, "zh")


def test_tokens_equal_a_piece_by_piece_scan():
    """tokenize cuts runs of word characters first and remembers plain words; the tokens are
    those of scanning every CJK run and word of the text in turn."""
    rng = random.Random(5)
    alphabet = list("abcXYZ_'`’ʼ-. ,\n0123456789ёЁжщİß社会信用的") + ["\ufa6e", "ﬁ", "Ａ", "²"]
    samples = ["".join(rng.choices(alphabet, k=rng.randint(0, 50))) for _ in range(3000)]
    for sample in samples + [CHINESE, "O'Brien's social_credit 2019 under_score ’quoted’"]:
        for language in ("en", "ru", "zh", "und"):
            normal = text._unify(text.unicodedata.normalize("NFKC", sample).lower())
            expected = []
            for cjk, word in text._PIECE.findall(normal):
                token = None if cjk else text._word_token(word.strip("'"), language)
                expected += text._zh_tokens(cjk) if cjk else [token] if token else []
            assert tokenize(sample, language) == expected, (sample, language)
    assert tokenize("social_credit", "en") == ["social", "credit"]


def test_add_zh_words_is_idempotent_and_thread_safe():
    words = [f"测试{c}词" for c in "甲乙丙丁戊己庚辛壬癸"]
    threads = [threading.Thread(target=add_zh_words, args=(words,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    add_zh_words(words)
    assert "测试庚词" in tokenize("这是测试庚词吗", "zh")


def test_numbers_are_dropped_except_years():
    assert tokenize("In 1999 and 2020, 37 of 100 firms", "en") == ["1999", "2020", "firm"]


def test_phrases_match_as_token_sequences():
    tokens = tokenize("Beijing expands its social credit systems to firms", "en")
    phrase = stem_phrase("Social Credit System", "en")
    assert phrase == ("social", "credit", "system")
    assert phrase_positions(tokens, phrase) == [2]
    assert contains_phrase(tokens, stem_phrase("social credit", "en"))
    assert not contains_phrase(tokens, stem_phrase("credit social", "en"))
    assert not contains_phrase(tokens, ())


def test_ngrams():
    assert ngrams(["a", "b", "c"], 2) == [("a", "b"), ("b", "c")]
    assert ngrams(["a"], 2) == []
    with pytest.raises(ValueError):
        ngrams(["a"], 0)


def test_empty_text():
    assert tokenize("", "en") == [] and tokenize("...!", "zh") == []


def test_vectorizer_works_on_token_lists_and_pickles():
    docs = [tokenize(t, "en") for t in
            ["social credit in China", "social credit party of Alberta", "credit scores in China"]]
    vec = make_vectorizer(min_df=1, ngram_range=(1, 2))
    matrix = vec.fit_transform(docs)
    assert matrix.shape[0] == 3
    assert "social credit" in vec.vocabulary_ and "china" in vec.vocabulary_
    again = pickle.loads(pickle.dumps(vec))
    assert again.transform([docs[0]]).nnz == matrix[0].nnz
    assert isinstance(TOKENIZER_VERSION, int)
