"""Codebooks and codebook scoring: phrases, stemming, segmentation, negation, length."""

from __future__ import annotations

import re

import pytest

from monitor.analyze.codebook import builtin_names, codebook_for, load_builtin
from monitor.analyze.framing import compile_codebook, score_article, score_text
from monitor.analyze.text import tokenize
from monitor.config import FrameDef, Frames
from monitor.errors import ConfigError, InputError

SOCIAL_CREDIT_IDS = ["surveillance", "creditworthiness", "law", "integrity", "punishment", "technology",
                     "governance", "rights", "myth_busting", "geopolitics", "history"]
SEMEVAL_FRAMES = ["Economic", "Capacity_and_resources", "Morality", "Fairness_and_equality",
                  "Legality_Constitutionality_and_jurisprudence", "Policy_prescription_and_evaluation",
                  "Crime_and_punishment", "Security_and_defense", "Health_and_safety", "Quality_of_life",
                  "Cultural_identity", "Public_opinion", "Political", "External_regulation_and_reputation"]


@pytest.fixture(scope="module")
def social_credit():
    return compile_codebook(load_builtin("social-credit"))


def _scores(text, language, frames):
    return {s.frame: s for s in score_text(text, language, frames)}


def test_builtin_codebooks_have_the_documented_frames():
    assert builtin_names() == ["policy-frames", "social-credit"]
    assert load_builtin("social-credit").ids == SOCIAL_CREDIT_IDS
    assert load_builtin("policy-frames").ids == SEMEVAL_FRAMES
    for name in builtin_names():
        for frame in load_builtin(name).frames:
            assert frame.label and frame.description
            assert all(len(frame.terms.get(lang, ())) >= 5 for lang in ("en", "ru", "zh")), frame.id


def test_unknown_codebook_is_an_input_error():
    with pytest.raises(InputError, match="social-credit"):
        load_builtin("nope")


def test_custom_frames_replace_and_extend_the_builtin():
    settings = Frames(custom=(FrameDef(name="law", terms={"en": ("statute",)}),
                              FrameDef(name="sports", label="Sport", terms={"en": ("football",)})))
    book = codebook_for(settings)
    assert book.ids[-2:] == ["law", "sports"] and len(book.ids) == 12
    assert book.frame("law").terms == {"en": ("statute",)}
    with pytest.raises(ConfigError, match="frames.custom is empty"):
        codebook_for(Frames(codebook="mine"))
    assert codebook_for(Frames(codebook="mine", custom=settings.custom)).ids == ["law", "sports"]


def test_inflected_forms_and_phrases_match(social_credit):
    scores = _scores("Cameras with facial-recognition software track citizens; companies are blacklisted.",
                     "en", social_credit)
    assert scores["surveillance"].present and "facial recognition" in scores["surveillance"].evidence
    assert "blacklisted" in scores["punishment"].evidence or "blacklist" in scores["punishment"].evidence
    assert not scores["history"].present and scores["history"].score == 0.0


def test_negated_terms_do_not_count(social_credit):
    scores = _scores("The system is not an Orwellian surveillance machine.", "en", social_credit)
    assert scores["surveillance"].score == 0.0
    assert "not surveillance" in scores["surveillance"].evidence
    plain = _scores("The system is an Orwellian surveillance machine.", "en", social_credit)
    assert plain["surveillance"].score > 0.5


def test_chinese_terms_are_segmented(social_credit):
    scores = _scores("失信被执行人将受到联合惩戒，诚信建设不断加强。", "zh", social_credit)
    assert scores["punishment"].present and set(scores["punishment"].evidence) >= {"联合惩戒", "失信被执行人"}
    assert scores["integrity"].present
    negated = _scores("社会信用体系并非监控工具。", "zh", social_credit)
    assert negated["surveillance"].score == 0.0


def test_russian_terms_match_inflections(social_credit):
    scores = _scores("Власти внесли компанию в чёрные списки, а суды усилили исполнение решений.",
                     "ru", social_credit)
    assert scores["punishment"].present and scores["law"].present


def test_scores_are_length_normalised(social_credit):
    short = "Mass surveillance with facial recognition."
    filler = " The delegation discussed the weather, the harvest and the schedule of the meeting." * 20
    assert _scores(short, "en", social_credit)["surveillance"].score > \
        _scores(short + filler, "en", social_credit)["surveillance"].score > 0


def test_title_matches_count_double_and_single_words_less_than_phrases(social_credit):
    from monitor.analyze.framing import score_article
    body = "Officials met on Tuesday."
    in_title = {s.frame: s for s in score_article("Mass surveillance grows", body, "en", social_credit)}
    in_body = {s.frame: s for s in score_article("News", "Mass surveillance grows. " + body, "en", social_credit)}
    assert in_title["surveillance"].score > in_body["surveillance"].score > 0
    phrase = _scores("They spoke of mass surveillance.", "en", social_credit)["surveillance"].score
    word = _scores("They spoke of spying.", "en", social_credit)["surveillance"].score
    assert phrase > word > 0


def test_scare_quotes_weigh_less_than_plain_use(social_credit):
    quoted = _scores("Critics call the plan 'Orwellian'.", "en", social_credit)["surveillance"].score
    plain = _scores("Critics call the plan Orwellian.", "en", social_credit)["surveillance"].score
    assert 0 < quoted < plain


def test_a_passing_mention_is_not_a_frame(social_credit):
    text = ("Courts added 2 million people to the blacklist of dishonest judgment debtors; joint "
            "punishment bars them from flights and train tickets. The list uses court data.")
    scores = _scores(text, "en", social_credit)
    assert scores["punishment"].present
    assert scores["technology"].score > 0 and not scores["technology"].present
    assert sum(s.present for s in scores.values()) <= 3


CACHED_CASES = [
    ("Mass surveillance grows", "Cameras track citizens. Facial recognition is everywhere.", "en"),
    ("Not a surveillance state", "Officials say it is not mass surveillance, but a credit score.", "en"),
    ("Critics call it 'Orwellian'", "The “dystopian” label sticks; however, courts enforce the law.", "en"),
    ("Система социального кредита", "Это не слежка, но система рейтинга граждан. «Антиутопия» — пишут СМИ.", "ru"),
    ("社会信用体系建设", "失信被执行人受到联合惩戒，并非监控。「黑名单」制度不断完善。", "zh"),
    ("", "Blacklists and court orders restrict travel of debtors.", "en"),
    ("信用中国", "失信被执行人受到联合惩戒。黑名单制度不断完善。", "zh"),
]


@pytest.mark.parametrize("title, body, language", CACHED_CASES)
def test_cached_tokens_score_exactly_as_fresh_tokenizing(social_credit, title, body, language):
    """The relevance job's cached tokens (title's, then body's) give the very scores and
    evidence of tokenizing afresh, with quotes, negations and worded clause breaks too."""
    tokens = tokenize(title, language) + tokenize(body, language)
    fresh = score_article(title, body, language, social_credit)
    assert score_article(title, body, language, social_credit, tokens=tokens) == fresh
    assert any(s.score > 0 for s in fresh)


def test_every_negation_cue_quote_and_worded_break_makes_a_text_not_plain():
    """_NOT_PLAIN's lookahead lists the characters its matches can start with; a cue whose
    first letter were missing from it would let a negated text pass as plain."""
    from monitor.analyze.framing import _NEGATION, _plain

    cues = re.findall(r"[^\W\d_][\w']*", re.sub(r"\\[a-zA-Z]", " ", _NEGATION.pattern))
    assert {"not", "never", "didn't", "нет", "без", "并非", "不存在"} <= set(cues)
    quotes = ["«a»", "“a”", "„a“", '"a"', "「a」", "『a』", "‘a’", "'a'"]
    for marked in [*cues, *(cue.capitalize() for cue in cues), *quotes, ", but", ", однако"]:
        assert not _plain(f"x {marked} y"), marked
    assert _plain("Nothing here is known, and China's aid is done")   # cue letters inside words


def test_a_plain_body_is_not_tokenized_again(social_credit):
    """Proof that the given tokens are used: doctored tokens change a plain body's score,
    but not a body with a negation (annotated afresh, where tokens alone cannot tell)."""
    doctored = tokenize("Report", "en") + tokenize("mass surveillance", "en")
    plain = score_article("Report", "A quiet day.", "en", social_credit, tokens=doctored)
    assert {s.frame: s.score for s in plain}["surveillance"] > 0
    negated = score_article("Report", "It is not a quiet day.", "en", social_credit, tokens=doctored)
    assert {s.frame: s.score for s in negated}["surveillance"] == 0
    # Tokens that do not start with the title's are not this article's: tokenized afresh.
    other = score_article("Report", "A quiet day.", "en", social_credit, tokens=["elsewhere", *doctored])
    assert {s.frame: s.score for s in other}["surveillance"] == 0
