"""Tokenisation shared by every analysis: one normalisation for articles and for query terms.

    tokenize("China's social-credit systems", "en") -> ["china", "social", "credit", "system"]
    tokenize("系统建设社会信用体系", "zh")            -> ["系统", "建设", "社会信用体系"]

English and Russian words are lower-cased and Snowball-stemmed (PyStemmer); runs of Chinese
characters are segmented by jieba, whatever the article's declared language, so a Chinese
quote inside an English article still yields Chinese words. Stop words are dropped; numbers
are dropped except years. Query phrases go through the same function (`stem_phrase`), so a
phrase matches an article as a sequence of tokens.

Tokens are cached per article (articles.tokens + tokens_version); bump TOKENIZER_VERSION
whenever a change here would alter the tokens of existing text.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import jieba_fast_dat
import numpy as np
import Stemmer
import stop_words

TOKENIZER_VERSION = 2   # 2: jieba-fast-dat segments Chinese (a few synthetic runs differ)

# CJK unified ideographs (+ extension A and compatibility block).
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK}]+")
# A run of CJK characters, or a word of letters/digits (apostrophes inside kept for the stemmer).
_PIECE = re.compile(f"([{_CJK}]+)|([^\\W_{_CJK}]+(?:'[^\\W_{_CJK}]+)*)")
_YEAR = re.compile(r"(?:19|20)\d\d")
# A run of word characters, apostrophes inside kept: \w is much faster for the regex engine
# than _PIECE's classes, and most runs are one plain word (CJK and "_" are split by _PIECE).
_WORD_RUN = re.compile(f"[\\w{_CJK}]+(?:'[\\w{_CJK}]+)*")
_APOSTROPHES = (("\u2019", "'"), ("\u2018", "'"), ("\u02bc", "'"), ("`", "'"), ("ё", "е"))

# The stop-words package's English list (1,300 words) drops content words such as "system",
# "state" and "information", which topic queries need; so English uses this curated list of
# function words. Russian and Chinese use the package's lists, Chinese topped up with
# common two-character function words jieba produces.
_EN_STOP = frozenset("""
a about above after again against all also am an and any are aren't as at be because been
before being below between both but by can can't cannot could couldn't did didn't do does
doesn't doing don't down during each either few for from further had hadn't has hasn't have
haven't having he he'd he'll he's her here here's hers herself him himself his how how's i
i'd i'll i'm i've if in into is isn't it it's its itself just let's may me might more most
much must mustn't my myself neither no nor not now of off on once only or other ought our
ours ourselves out over own per same shall shan't she she'd she'll she's should shouldn't so
some such than that that's the their theirs them themselves then there there's these they
they'd they'll they're they've this those though through thus to too under until up upon us
very via was wasn't we we'd we'll we're we've were weren't what what's when when's where
where's whether which while who who's whom whose why why's will with within without won't
would wouldn't yet you you'd you'll you're you've your yours yourself yourselves
""".split())
_ZH_EXTRA_STOP = frozenset("""
我们 你们 他们 她们 它们 一个 这个 那个 这些 那些 这样 那样 这种 那种 进行 以及 没有 可以 已经
因为 所以 如果 但是 而且 还是 就是 什么 自己 通过 对于 关于 其中 之后 之前 同时 以上 以下 以来
并且 或者 不仅 而是 然后 还有 一些 一种 一样 这里 那里 怎么 如何 为了 由于 虽然 因此 此外 其他
""".split())

_STEMMER_NAMES = {code: name for code, name in stop_words.LANGUAGE_MAPPING.items()
                  if name in Stemmer.algorithms()}
_NON_LATIN = {"ru", "uk", "bg", "el", "ar", "fa", "hi", "he"}
_LATIN_STEMMED = {code for code in _STEMMER_NAMES if code not in _NON_LATIN}
_CYRILLIC = re.compile("[\u0400-\u04ff]")

jieba_fast_dat.setLogLevel(logging.WARNING)
_zh_lock = threading.Lock()
_zh_tokenizer: jieba_fast_dat.Tokenizer | None = None
_zh_words: set[str] = set()
_stemmers = threading.local()   # PyStemmer objects keep an internal cache: one per thread


# jieba's own dictionary, segmented by jieba-fast-dat (a C++ double-array trie and Viterbi):
# jieba's words about 15 times faster, its cached trie loading in 0.02 s where jieba's took
# about 1 s. The two break exact ties apart: where two taught words of one length overlap
# (企业信用 / 信用监管 in 企业信用监管) jieba keeps the first, jieba-fast-dat the second.
JIEBA_DICTIONARY = Path(importlib.util.find_spec("jieba").origin).parent / "dict.txt"   # not imported


def _segmenter() -> jieba_fast_dat.Tokenizer:
    """Our own segmenter (not the package's global one), built on first use: the trie is
    built from the dictionary once per machine (about 1.3 s) and cached in the temp folder."""
    global _zh_tokenizer
    if _zh_tokenizer is None:
        with _zh_lock:
            if _zh_tokenizer is None:
                tokenizer = jieba_fast_dat.Tokenizer(JIEBA_DICTIONARY)
                tokenizer.initialize()
                _zh_tokenizer = tokenizer
    return _zh_tokenizer


def add_zh_words(words: Iterable[str]) -> None:
    """Teach jieba words it must keep whole (社会信用体系, 失信被执行人, ...). Idempotent.

    Words are given a high frequency so that a longer dictionary word wins over its parts:
    统一社会信用代码 stays one token, so it never contains the token 社会信用. The dictionary
    is process-wide and changes Chinese tokens: add a topic's words (relevance.TopicRules
    does) before tokenizing. The relevance job re-tokenizes cached articles when it changes.
    """
    fresh = [w.strip() for w in words if w and w.strip() and w.strip() not in _zh_words]
    if not fresh:
        return
    segmenter = _segmenter()
    with _zh_lock:
        for word in fresh:
            if word not in _zh_words and _CJK_RUN.fullmatch(word):
                segmenter.add_word(word, freq=zh_word_frequency(word))
                _zh_words.add(word)


def zh_word_frequency(word: str) -> int:
    """The frequency add_zh_words gives a word: high, and higher for longer words."""
    return max(1000, 200_000 * len(word))


def zh_dictionary() -> frozenset[str]:
    """The words added with add_zh_words so far (their set affects Chinese tokens)."""
    with _zh_lock:
        return frozenset(_zh_words)


def zh_dictionary_fingerprint() -> str:
    """Identifies the current jieba word set: tokens cached under another one may differ."""
    words = json.dumps(sorted(zh_dictionary()), ensure_ascii=False)
    return hashlib.sha256(words.encode()).hexdigest()[:16]


def has_cjk(text: str) -> bool:
    """Whether jieba (and so its dictionary) takes part in tokenizing `text`."""
    return _CJK_RUN.search(text) is not None


def _stemmer(language: str) -> Any | None:
    cache = getattr(_stemmers, "by_language", None)
    if cache is None:
        cache = _stemmers.by_language = {}
    if language not in cache:
        name = _STEMMER_NAMES.get(language)
        cache[language] = Stemmer.Stemmer(name) if name else None
    return cache[language]


@lru_cache(maxsize=64)
def stop_word_set(language: str) -> frozenset[str]:
    """Lower-cased stop words of a language (empty for a language without a list)."""
    if language == "en":
        return _EN_STOP
    try:
        words = frozenset(_unify(w.lower()) for w in stop_words.get_stop_words(language))
    except stop_words.StopWordError:
        words = frozenset()
    if language == "zh":
        words |= _ZH_EXTRA_STOP
    return words


def _base_language(language: str | None) -> str:
    return (language or "").lower().replace("_", "-").split("-")[0] or "und"


def _word_language(word: str, language: str) -> str:
    """The language whose stemmer and stop words fit this word's script."""
    if word.isascii():
        # Latin words inside Russian, Chinese or unknown-language text are treated as English.
        return language if language in _LATIN_STEMMED else "en"
    if _CYRILLIC.search(word):
        return language if language in ("ru", "uk", "bg", "sr") else "ru"
    return language


def _unify(text: str) -> str:
    """Apostrophe variants as ' and ё as е (str.replace: several times faster than translate)."""
    for variant, plain in _APOSTROPHES:
        if variant in text:
            text = text.replace(variant, plain)
    return text


def _word_token(word: str, language: str) -> str | None:
    """One non-CJK word -> its stem, or None when it is a stop word, a letter or a number."""
    if word.isdigit():
        return word if _YEAR.fullmatch(word) else None
    if len(word) < 2:
        return None
    lang = _word_language(word, language)
    if word in stop_word_set(lang):
        return None
    stemmer = _stemmer(lang)
    stem = stemmer.stemWord(word) if stemmer else word
    return stem.rstrip("'") or None


def _zh_tokens(run: str) -> list[str]:
    """The words of a run of CJK characters (jieba's accurate mode, HMM on), less stop words."""
    stops = stop_word_set("zh")
    return [w for w in _segmenter().lcut(run) if w not in stops]


_RUN_MEMO_MAX = 1 << 18   # runs remembered per language; beyond it the memo restarts
_run_memo: dict[str, dict[str, tuple[str, ...]]] = {}


def tokenize(text: str, language: str) -> list[str]:
    """Text -> normalised tokens: lower-cased stems (en, ru, ...) and jieba words (Chinese)."""
    if not text:
        return []
    language = _base_language(language)
    memo = _run_memo.setdefault(language, {})
    tokens: list[str] = []
    for run in _WORD_RUN.findall(_unify(unicodedata.normalize("NFKC", text).lower())):
        found = memo.get(run)
        tokens += found if found is not None else _run_tokens(run, language, memo)
    return tokens


def _run_tokens(run: str, language: str, memo: dict[str, tuple[str, ...]]) -> list[str]:
    """The tokens of a run of word characters, remembered in `memo` unless it has CJK
    characters: word frequencies are Zipfian, so most runs were seen before and stemming
    dominated tokenisation, while CJK runs are whole clauses whose words depend on the
    jieba dictionary."""
    tokens: list[str] = []
    has_han = False
    for cjk, word in _PIECE.findall(run):
        if cjk:
            has_han = True
            tokens += _zh_tokens(cjk)
        else:
            token = _word_token(word.strip("'"), language)
            if token:
                tokens.append(token)
    if not has_han:
        if len(memo) >= _RUN_MEMO_MAX:
            memo.clear()
        memo[run] = tuple(tokens)
    return tokens


def stem_phrase(phrase: str, language: str) -> tuple[str, ...]:
    """A query or codebook phrase normalised exactly like article text.

    Chinese phrases should be added with add_zh_words first so they stay one token.
    """
    return tuple(tokenize(phrase, language))


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    """Consecutive n-token tuples: ngrams(["a", "b", "c"], 2) -> [("a", "b"), ("b", "c")]."""
    if n < 1:
        raise ValueError("n must be at least 1")
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def phrase_positions(tokens: Sequence[str], phrase: Sequence[str]) -> list[int]:
    """Start indexes where `phrase` (a token tuple) occurs in `tokens`."""
    n = len(phrase)
    if n == 0:
        return []
    first = phrase[0]
    return [i for i, token in enumerate(tokens)
            if token == first and tuple(tokens[i:i + n]) == tuple(phrase)]


def contains_phrase(tokens: Sequence[str], phrase: Sequence[str]) -> bool:
    """Whether `phrase` occurs in `tokens` as a contiguous sequence."""
    return bool(phrase) and bool(phrase_positions(tokens, phrase))


def count_phrase(tokens: Sequence[str], phrase: Sequence[str]) -> int:
    return len(phrase_positions(tokens, phrase))


def _identity(tokens: Any) -> Any:
    return tokens


def make_vectorizer(**kw: Any):
    """A TfidfVectorizer over already tokenized documents (lists of tokens).

    The shared configuration: sublinear tf, unigrams, words in at least 2 documents. Pass
    keyword arguments to override (e.g. ngram_range=(1, 2), min_df=1, max_features=20000).
    The analyzer is a module-level function so fitted vectorizers can be pickled.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    ngram_range = kw.pop("ngram_range", (1, 1))
    options: dict[str, Any] = {"sublinear_tf": True, "min_df": 2, "max_df": 0.95,
                               "dtype": np.float32}
    options.update(kw)
    if tuple(ngram_range) == (1, 1):
        analyzer = _identity
    else:
        analyzer = _NgramAnalyzer(tuple(ngram_range))
    return TfidfVectorizer(analyzer=analyzer, lowercase=False, **options)


class _NgramAnalyzer:
    """Token lists -> unigram strings plus joined n-grams; picklable (a class, not a lambda)."""

    def __init__(self, ngram_range: tuple[int, int]):
        self.ngram_range = ngram_range

    def __call__(self, tokens: Sequence[str]) -> list[str]:
        low, high = self.ngram_range
        out: list[str] = []
        for n in range(low, high + 1):
            out.extend(tokens if n == 1 else (" ".join(g) for g in ngrams(tokens, n)))
        return list(out)
