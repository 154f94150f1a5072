"""The topic model's batch features: the tf-idf rows are exactly what the fitted vectorizer computes."""

from functools import cache

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from papers.devset.evaluate import topic_rows
from papers.relevance.examples import examples_from_records
from papers.relevance.labelled import load_devset
from papers.relevance.model import PaperText, TopicSpec, _document, fit_tagger


@cache
def _tagger():
    specs = [TopicSpec.from_topic(row) for row in topic_rows()]
    return fit_tagger(specs, examples_from_records(load_devset()[:150]))


def _assert_rows_are_the_vectorizers(texts):
    tagger = _tagger()
    found = tagger.text_vectors(texts)
    expected = tagger.features.vectorizer.transform([_document(text) for text in texts])
    assert found.shape == expected.shape
    assert (abs(found - expected) > 1e-12).nnz == 0
    assert np.array_equal(found.getnnz(axis=1), expected.getnnz(axis=1))


def test_tfidf_rows_of_the_dev_set_are_the_vectorizers():
    texts = [PaperText.of(record) for record in load_devset()[150:]]
    _assert_rows_are_the_vectorizers(texts)


ASCII_WORDS = [
    "attention", "Attention", "graph", "graphs", "neural", "model", "models", "language", "diffusion",
    "retrieval", "the", "of", "LLM", "quantization", "KV", "cache", "2024", "x2", "a",
]  # fmt: skip
OTHER_WORDS = [
    "snake_case", "_", "naïve", "Σ", "résumé", "ﬁne", "İstanbul", "ΣΑΣ", "ΟΔΟΣ", "Σ'", "ǅemal", "STRAẞE",
    "cafe\u0301", "x\u00adz", "数据", "١٢٣", "Ⅻ",
]  # fmt: skip
GAPS = [" ", "-", ", ", ". ", "/", "\n", "'", "\u2019", "\u0301 "]


def _text(words, gaps):
    parts = st.lists(st.tuples(st.sampled_from(words), st.sampled_from(gaps)), min_size=1, max_size=30)
    return parts.map(lambda parts: "".join(word + gap for word, gap in parts))


# Papers are counted from the tagger's own tokens, those with an underscore by the vectorizer's analyzer.
_any_text = _text(ASCII_WORDS, GAPS) | _text(ASCII_WORDS + OTHER_WORDS, [*GAPS, "_"]) | st.just("")


# No deadline: the first example builds the vectorizer (300-500 ms in a full run), the rest take ~3 ms;
# Hypothesis called that "unreliable timings" and failed the test.
@settings(deadline=None)
@given(st.lists(st.tuples(_any_text, _any_text), min_size=1, max_size=4))
def test_tfidf_rows_of_any_text_are_the_vectorizers(pairs):
    _assert_rows_are_the_vectorizers([PaperText(title=title, abstract=abstract) for title, abstract in pairs])
