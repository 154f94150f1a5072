"""Cold start without a database: a new topic's model from unlabelled papers, its scale and its reasons."""

import math

import numpy as np
import pytest

from papers.devset.evaluate import _cold_examples, topic_rows
from papers.relevance.labelled import load_devset
from papers.relevance.model import DECISION_PROBABILITY, PaperText, TopicSpec, fit_tagger


@pytest.fixture(scope="module")
def cold_rag():
    """The dev set with `rag` unseen, and `rag` written as an admin would under a new slug."""
    records = load_devset()
    texts = [PaperText.of(record) for record in records]
    specs = []
    for row in topic_rows():
        spec = TopicSpec.from_topic(row)
        if row.slug == "rag":
            spec = TopicSpec(spec.id, "new-rag", spec.name, spec.description, spec.keywords, (), 1.0)
        specs.append(spec)
    new = next(spec for spec in specs if spec.slug == "new-rag")
    tagger = fit_tagger(specs, _cold_examples(records, "rag"), corpus=texts, fit_only={"new-rag"})
    gold = np.array(["rag" in record["labels"] for record in records])
    return tagger.restricted([new.id]), texts, gold, new


def test_a_new_topic_gets_a_cold_start_model_that_ranks_its_papers_first(cold_rag):
    tagger, texts, gold, _ = cold_rag
    assert tagger.topics[0].kind == "cold" and tagger.topics[0].has_model
    scores = tagger.scores(texts)[:, 0]
    # Most of the topic's papers score above most of the others (AUC), and the line tags some.
    above = (scores[gold][:, None] > scores[~gold][None, :]).mean()
    assert above > 0.9
    tagged = scores >= 1.0
    assert (tagged & gold).sum() > (tagged & ~gold).sum()


def test_a_cold_start_score_is_its_reasons_added_up(cold_rag):
    tagger, texts, _, new = cold_rag
    scores = tagger.scores(texts[:40])[:, 0]
    reasons = tagger.explain(texts[:40], new.id, top=100000)
    shift = math.log(DECISION_PROBABILITY / (1 - DECISION_PROBABILITY))
    for score, why in zip(scores, reasons, strict=True):
        logit = sum(reason.weight for reason in why) + tagger.intercepts[0] - shift
        # Up to the rounding of each share and the shares under 0.005 a reason list leaves out.
        assert math.exp(logit) == pytest.approx(score, rel=0.1, abs=0.01)
