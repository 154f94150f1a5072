"""Rule-based topic scores: whole words, word forms, phrases, acronyms, categories, title weight."""

from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from papers.tagging import TITLE_WEIGHT, compile_topics, score_topics, word_forms


def topic(keywords, categories=(), threshold=1.0, topic_id=1):
    return SimpleNamespace(
        id=topic_id, keyword_list=list(keywords), category_list=list(categories), threshold=threshold
    )


QUANT = topic(["quantization"], threshold=0.5)


def test_word_forms_of_a_topic_word_match():
    for title in ("Quantized LLMs", "QUANTIZING attention", "On quantisation", "A quantizer for speech"):
        assert 1 in score_topics(title, "", [], [QUANT]), title
    assert {"quantize", "quantized", "quantizing", "quantization"} <= word_forms("quantization")


def test_only_whole_words_match():
    assert score_topics("Quantum chemistry", "Subquantization-free methods.", [], [QUANT]) == {}
    planning = topic(["planning"], threshold=0.5)
    assert score_topics("Planned and planning", "", [], [planning])
    assert score_topics("A plane crash", "", [], [planning]) == {}


def test_phrases_match_across_hyphens_and_case():
    cot = topic(["chain of thought"])
    assert score_topics("Chain-of-Thought prompting", "", [], [cot])
    assert score_topics("", "a chain of thoughts", [], [cot])
    assert score_topics("", "a chain that thought", [], [cot]) == {}


def test_acronyms_match_in_capitals_only():
    rag = topic(["RAG"])
    assert score_topics("RAG for medicine", "", [], [rag])
    assert score_topics("", "We evaluate RAGs.", [], [rag])
    assert score_topics("Rag dolls", "a rag", [], [rag]) == {}


def test_title_outweighs_abstract():
    t = topic(["diffusion model"], threshold=0.1)
    in_title = score_topics("A diffusion model", "", [], [t])[1]
    in_abstract = score_topics("Something", "We train a diffusion model.", [], [t])[1]
    assert in_title == TITLE_WEIGHT * in_abstract


def test_single_common_words_need_more_evidence_than_phrases():
    reasoning = topic(["reasoning"])
    assert score_topics("", "Some reasoning.", [], [reasoning]) == {}
    assert score_topics("", "Reasoning, reasoning and more reasoning.", [], [reasoning])


def test_category_rules():
    code = topic(["program synthesis"], categories=["cs.SE"])
    assert score_topics("Anything", "", ["cs.SE", "cs.LG"], [code]) == {1: 1.0}  # primary category
    assert score_topics("Anything", "", ["cs.LG", "cs.SE"], [code]) == {}  # cross-list alone: 0.5
    assert score_topics("Program synthesis", "", ["cs.LG", "cs.SE"], [code]) == {1: 2.5}


def test_many_topics_score_independently():
    index = compile_topics([topic(["graph neural network"], topic_id=7), topic(["jailbreak"], topic_id=9)])
    scores = index.score(title="Jailbreaking graph neural networks", abstract="", categories=[])
    assert set(scores) == {7, 9}


@given(st.text(max_size=300), st.text(max_size=300))
def test_scores_are_never_negative_and_never_crash(title, abstract):
    index = compile_topics([topic(["quantization", "KV cache", "RAG"], categories=["cs.LG"])])
    for score in index.score(title=title, abstract=abstract, categories=["cs.LG"]).values():
        assert score >= 1.0
