"""Near-duplicate detection: signatures, similarity and the time-windowed LSH index."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from monitor.ingest import dedup

WIRE = ("Chinese regulators on Tuesday published a draft law that would give the social credit "
        "system a legal basis for the first time, setting rules for how public bodies collect, "
        "share and correct records about companies and individuals across the country.")
EDITED = WIRE.replace("on Tuesday", "on Wednesday")   # a lightly edited repost
OTHER = ("The central bank kept its benchmark lending rate unchanged for a third month, citing "
         "slowing inflation and a weaker property market, and signalled more support for exporters.")
ZH = "社会信用体系建设规划纲要发布，政府部门将加快推进信用信息共享平台建设，并完善失信惩戒机制。"
T0 = datetime(2024, 1, 10, tzinfo=timezone.utc)


def test_edited_copy_is_similar_unrelated_text_is_not():
    wire, edited, other = (dedup.signature(t, "en") for t in (WIRE, EDITED, OTHER))
    assert dedup.similarity(wire, edited) >= dedup.SIMILARITY
    assert dedup.similarity(wire, other) < 0.2
    assert dedup.similarity(wire, wire) == 1.0


def test_chinese_uses_character_shingles():
    assert len(dedup.shingle_hashes(ZH, "zh")) > 30        # no spaces, still many shingles
    assert len(dedup.shingle_hashes(ZH, "en")) < 3          # as "words" it is one long token
    reposted = dedup.signature(ZH.replace("并", "同时"), "zh")
    assert dedup.similarity(dedup.signature(ZH, "zh"), reposted) >= dedup.SIMILARITY


def test_short_texts_get_no_signature():
    assert dedup.signature("Breaking news today", "en") is None


def test_signature_bytes_round_trip_and_version_check():
    sig = dedup.signature(WIRE, "en")
    blob = dedup.signature_bytes(sig)
    assert len(blob) == 1 + 4 * dedup.NUM_PERM
    assert (dedup.signature_from_bytes(blob) == sig).all()
    assert dedup.signature_from_bytes(b"\x00" + blob[1:]) is None
    assert dedup.signature_from_bytes(None) is None


def test_index_finds_the_original_within_the_window_only():
    index = dedup.NearDuplicateIndex()
    index.add("wire", T0, dedup.signature(WIRE, "en"))
    index.add("other", T0, dedup.signature(OTHER, "en"))
    found = index.find(dedup.signature(EDITED, "en"), T0 + timedelta(days=1))
    assert found is not None and found.original_id == "wire" and found.similarity >= 0.7
    assert index.find(dedup.signature(EDITED, "en"), T0 + timedelta(days=30)) is None
    index.remove(["wire"])
    assert index.find(dedup.signature(EDITED, "en"), T0) is None
    assert len(index) == 1


def test_index_loaded_spans_grow_without_gaps():
    index = dedup.NearDuplicateIndex(window=timedelta(days=1))
    assert index.missing_spans(T0, T0) == [(T0 - timedelta(days=1), T0 + timedelta(days=1))]
    index.mark_loaded(T0, T0)
    assert index.missing_spans(T0, T0) == []
    later = T0 + timedelta(days=5)
    assert index.missing_spans(later, later) == [(T0 + timedelta(days=1), later + timedelta(days=1))]
