"""Language detection in batches: the vectorised walk of py3langid's model must give exactly
py3langid's own answers (label and probability), whatever the texts' lengths and scripts."""

from __future__ import annotations

import random

import numpy as np
import pytest

from monitor.ingest import language
from monitor.ingest.language import (SAMPLE_BYTES, SMALL_BATCH, _batch_model, _identifier,
                                     detect_language, detect_languages)

SENTENCES = [
    "Beijing expands its corporate social credit ratings to more firms and regulators.",
    "Власти Китая расширяют систему социального рейтинга на новые регионы и компании.",
    "社会信用体系建设的政府部门和企业平台数据。",
    "社會信用體系建設,政府部門與企業平台。",
    "Die Regierung erweitert das Bonitätssystem auf weitere Unternehmen.",
    "El gobierno amplía el sistema de crédito social a más empresas.",
    "Уряд розширює систему соціального кредиту на нові регіони.",
    "政府は社会信用システムを新しい地域に拡大すると発表した。",
    "정부는 사회 신용 시스템을 확대한다고 밝혔다.",
    "الحكومة توسع نظام الائتمان الاجتماعي",
    "BEIJING EXPANDS CREDIT RATINGS",         # all upper case: py3langid lowers it
    "OK", "12345 678", "a", "ß", "🙂 ok 🙂", "x" * 1000, "http://example.com/a?b=c",
    "Mixed English и русский текст 和中文",
]


def _texts(count: int, seed: int) -> list[str]:
    """Sentences cut and glued at random, so lengths and byte boundaries vary."""
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        words = " ".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 8)))
        start = rng.randint(0, max(0, len(words) - 1) // 3)
        texts.append(words[start:start + rng.randint(1, 600)])
    return texts + SENTENCES


def _sample(text: str) -> str:
    return text.encode("utf-8", "surrogatepass")[:SAMPLE_BYTES].decode("utf-8", "ignore")


@pytest.mark.parametrize("seed", [1, 2])
def test_batch_probabilities_are_py3langids_exactly(seed):
    samples = [_sample(t) for t in _texts(300, seed)]
    model, identifier = _batch_model(), _identifier()
    probabilities = model.probabilities(samples)
    assert probabilities.shape == (len(samples), len(model.classes))
    for sample, row in zip(samples, probabilities):
        label, confidence = identifier.classify(sample)
        best = int(row.argmax())
        assert (model.classes[best], float(row[best])) == (label, confidence), sample
        for label, probability in identifier.rank(sample):
            assert row[model.column[label]] == np.float32(probability), (sample, label)


def test_small_and_large_batches_agree():
    samples = [_sample(t) for t in _texts(40, 3)]
    model = _batch_model()
    assert len(samples) >= SMALL_BATCH
    together = model.probabilities(samples)
    alone = np.stack([model.probabilities([s])[0] for s in samples])
    assert np.array_equal(together, alone)


def test_detect_languages_matches_one_at_a_time_with_declarations():
    texts = _texts(60, 4) + ["", "   ", "..."]
    declared = [random.Random(i).choice([None, "en", "ru", "zh-TW", "en-US", "x"]) for i in range(len(texts))]
    batch = detect_languages(texts, declared)
    assert batch == [detect_language(t, declared=d) for t, d in zip(texts, declared)]
    assert [g.confidence for g in batch[-3:]] == [0.0, 0.0, 0.0]   # no letters: nothing to detect
    ru, zh_hans, zh_hant, empty = detect_languages([SENTENCES[1], SENTENCES[2], SENTENCES[3], ""],
                                                   ["en", None, None, None])
    assert (ru.code, ru.source) == ("ru", "detected") and ru.confidence > 0.9
    assert (zh_hans.code, zh_hant.code) == ("zh", "zh")
    assert (empty.code, empty.confidence) == ("und", 0.0)
    assert detect_languages([], []) == []


def test_model_cache_is_written_when_missing_and_read_back(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert not language._cache_file().exists()
    unpacked = language._cached_model()          # from py3langid's LZMA file, then cached
    assert language._cache_file().exists()
    cached = language._cached_model()            # from the cache
    ptc, pc, classes, nextmove, row, output = unpacked
    assert np.array_equal(cached[0], ptc) and np.array_equal(cached[1], pc)
    assert cached[2] == list(classes) and cached[3] == nextmove and cached[4] == row
    assert list(cached[5]) == list(output)
    assert _identifier().nb_classes == list(classes)
