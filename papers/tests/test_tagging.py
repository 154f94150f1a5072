"""Rule-based topic scores: whole words, word forms, phrases, acronyms, categories, title weight."""

from collections import Counter
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from papers.devset.evaluate import topic_rows
from papers.relevance.labelled import load_devset
from papers.tagging import TITLE_WEIGHT, TOKEN_RE, compile_topics, tokenise, word_forms

PAPER_FIELDS = ("title", "abstract", "categories", "primary_category")


def topic(keywords, categories=(), threshold=1.0, topic_id=1):
    return SimpleNamespace(
        id=topic_id, keyword_list=list(keywords), category_list=list(categories), threshold=threshold
    )


def score_topics(title, abstract, categories, topics) -> dict[int, float]:
    """{topic_id: score} of the topics one paper matches (the first category is its primary one)."""
    return compile_topics(topics).score(title=title, abstract=abstract, categories=list(categories))


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


# The batch path (score_many, keyword_matrix) must decide exactly what the per-paper path decides.
KEYWORDS = [
    "quantization", "KV cache", "RAG", "LLM agent", "chain of thought", "graph neural network",
    "text-to-SQL", "retrieval-augmented generation", "planning", "LLM", "GNNs", "agent", "data to data",
    "LLM to LLM",
]  # fmt: skip
WORDS = [
    "quantized", "Quantizing", "KV", "kv", "cache", "caches", "RAG", "RAGs", "rag", "LLM", "LLMs", "llm",
    "agent", "agents", "chain", "of", "thought", "thoughts", "graph", "neural", "networks", "text", "to",
    "SQL", "sql", "retrieval", "augmented", "generation", "planning", "planned", "plan", "GNNs", "x_LLM",
    "xLLM", "LLMx", "RAG2", "ÉLAN", "naïve", "data",
]  # fmt: skip
text_from_words = st.lists(
    st.tuples(st.sampled_from(WORDS), st.sampled_from([" ", "-", ", ", "_", ". ", "/", "  "])), max_size=40
).map(lambda parts: "".join(word + gap for word, gap in parts))


def _batch_equals_per_paper(index, papers):
    per_paper = [
        index.score(
            title=p.title, abstract=p.abstract, categories=p.categories, primary_category=p.primary_category
        )
        for p in papers
    ]
    assert index.score_many(papers) == per_paper
    found = index.keyword_matrix(
        [tokenise(p.title) for p in papers], [tokenise(p.abstract) for p in papers]
    ).toarray()
    for row, paper in enumerate(papers):
        expected = index.keyword_scores(title=paper.title, abstract=paper.abstract)
        assert {k: v for k, v in enumerate(found[row]) if v} == expected


@given(st.lists(st.tuples(text_from_words, text_from_words, st.text(max_size=80)), max_size=5))
def test_batch_scores_equal_per_paper_scores(texts):
    index = compile_topics(
        [topic(KEYWORDS[:6], categories=["cs.LG"], threshold=0.5), topic(KEYWORDS[6:], ["cs.CL"], 1.0, 2)]
    )
    papers = [
        SimpleNamespace(title=t, abstract=a + " " + noise, categories=["cs.CL", "cs.LG"], primary_category="")
        for t, a, noise in texts
    ]
    _batch_equals_per_paper(index, papers)


def test_batch_scores_equal_per_paper_scores_on_the_dev_set():
    index = compile_topics(topic_rows())
    papers = [SimpleNamespace(**{k: r[k] for k in PAPER_FIELDS}) for r in load_devset()]
    _batch_equals_per_paper(index, papers)


@given(st.text(max_size=200) | text_from_words)
def test_tokens_are_the_regex_tokens_of_the_lower_case_text(text):
    tokens = tokenise(text)
    assert tokens.tokens == TOKEN_RE.findall(text.lower())
    assert tokens.counts == Counter(tokens.tokens)


def test_an_acronym_phrase_whose_words_repeat_is_confirmed_in_capitals_in_a_batch():
    index = compile_topics([topic(["LLM to LLM", "data to data"], threshold=0.1)])
    papers = [
        SimpleNamespace(
            title="llm to llm", abstract="data to data to data", categories=[], primary_category=""
        ),
        SimpleNamespace(title="LLM to LLMs", abstract="", categories=[], primary_category=""),
    ]
    # "data to data to data" is two mentions (they share a word); the lower-case title is none.
    assert index.score_many(papers) == [{1: 1.5}, {1: 2.0}]
    _batch_equals_per_paper(index, papers)


def test_a_phrase_never_runs_from_one_paper_into_the_next():
    index = compile_topics([topic(["graph neural network"], threshold=0.1)])
    papers = [
        SimpleNamespace(title="Learning on a graph", abstract="A graph", categories=[], primary_category=""),
        SimpleNamespace(
            title="neural networks", abstract="neural network", categories=[], primary_category=""
        ),
        SimpleNamespace(title="", abstract="graph neural network", categories=[], primary_category=""),
    ]
    assert index.score_many(papers) == [{}, {}, {1: 1.0}]
    _batch_equals_per_paper(index, papers)
