"""The shared tokenizer: stems for English and Russian, whole dictionary words for Chinese."""

from __future__ import annotations

import json
import math
import pickle
import random
import threading
from collections import Counter
from pathlib import Path

import jieba
import pytest

from monitor.analyze import text
from monitor.analyze.text import (
    TOKENIZER_VERSION, add_zh_words, contains_phrase, make_vectorizer, ngrams, phrase_positions,
    stem_phrase, tokenize, zh_dictionary, zh_word_frequency,
)

ROOT = Path(__file__).resolve().parent.parent

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


def _real_chinese_runs() -> list[str]:
    """Every run of CJK characters in the project's own Chinese texts (demo corpus, relevance
    dev set)."""
    texts = [CHINESE]
    for path in (ROOT / "monitor" / "demo" / "corpus" / "items_zh.jsonl", ROOT / "tests" / "data" / "relevance_dev.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            texts += [value for value in row.values() if isinstance(value, str)]
    return [run for t in texts for run in text._CJK_RUN.findall(t)]


def test_chinese_words_are_jieba_s_accurate_mode_with_hmm():
    """jieba-fast-dat, given jieba's dictionary and the words taught to it, gives jieba's own
    words on real text, or where two taught words overlap with equal frequencies (企业信用 /
    信用监管 in 企业信用监管) an equally probable route: the two break such ties apart."""
    add_zh_words(["社会信用体系", "失信被执行人名单"])
    reference = jieba.Tokenizer()
    for word in zh_dictionary():   # every word this process's segmenter was taught
        reference.add_word(word, freq=zh_word_frequency(word))
    stops = text.stop_word_set("zh")
    runs = _real_chinese_runs()
    assert sum(map(len, runs)) > 20_000
    for run in runs:
        ours, theirs = text._segmenter().lcut(run), reference.lcut(run)
        if ours != theirs:   # the words only one side has must weigh the same
            only_ours, only_theirs = Counter(ours) - Counter(theirs), Counter(theirs) - Counter(ours)
            assert _log_frequency(only_ours, reference) == pytest.approx(_log_frequency(only_theirs, reference)), run
        assert text._zh_tokens(run) == [w for w in ours if w not in stops]
    assert "失信被执行人名单" in tokenize(CHINESE, "zh")


def _log_frequency(words: Counter, reference: jieba.Tokenizer) -> float:
    """What jieba's route maximises, over these dictionary words: their log frequencies' sum."""
    assert all(reference.FREQ.get(w) for w in words), words
    return sum(math.log(reference.FREQ[w]) * n for w, n in words.items())


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
