"""One scorer, one scale: what the topic page previews is what the tagger writes, with its reasons."""

import pytest
from django.urls import reverse

from papers.models import Paper, PaperTopic, Topic
from papers.relevance import loading
from papers.relevance.selectors import topic_review
from papers.tag_writes import topic_retag
from papers.tests.factories import PaperFactory, TopicFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_tagger")]


def _papers_from(records) -> list[Paper]:
    return [
        PaperFactory(
            arxiv_id=record["arxiv_id"],
            title=record["title"],
            abstract=record["abstract"],
            categories=record["categories"],
            primary_category=record["primary_category"],
        )
        for record in records
    ]


def _assert_review_is_the_tagging(topic: Topic):
    topic_retag(topic_id=topic.pk)
    rows = {
        row.paper_id: row.score
        for row in PaperTopic.objects.filter(topic=topic, manual=False, excluded=False)
    }
    review = topic_review(topic=topic, preview=1000, each_side=1000)
    assert {row.paper.pk for row in review.preview} == set(rows)
    for row in review.preview:
        assert row.tagged and row.score == pytest.approx(rows[row.paper.pk], abs=1e-3)
    for row in review.near:  # every scored paper with some evidence, on the same scale
        assert row.tagged == (row.paper.pk in rows)
        assert (row.score >= topic.threshold) == row.tagged
    return review, rows


def test_preview_and_near_threshold_are_the_taggers_decision_for_a_modelled_topic(devset):
    _papers_from(devset[:150])
    topic = Topic.objects.get(slug="quantization")
    review, rows = _assert_review_is_the_tagging(topic)
    assert rows and any(not row.tagged for row in review.near)
    # The model's reasons: each row names what counted, and the shares add up to a real log-odds.
    assert all(row.reasons for row in review.preview)


def _new_topic():
    return TopicFactory(
        slug="speculative", name="Speculative decoding", keywords="speculative decoding\ndraft model"
    )


def test_preview_and_near_threshold_are_the_taggers_decision_for_a_new_cold_start_topic(devset):
    _papers_from(devset[:150])  # enough unlabelled papers for a cold-start model
    topic = _new_topic()
    hit = PaperFactory(title="Faster speculative decoding with a tiny draft model", abstract="We decode.")
    assert loading.active_tagger().restricted([topic.pk]).topics[0].kind == "cold"
    review, rows = _assert_review_is_the_tagging(topic)
    assert hit.pk in rows
    (row,) = [row for row in review.preview if row.paper.pk == hit.pk]
    assert {"speculative", "draft"} & {reason.label for reason in row.reasons}


def test_preview_and_near_threshold_are_the_taggers_decision_for_a_rule_scored_topic(devset, settings):
    settings.PAPERS_COLD_START_CORPUS = 0  # no corpus: a new topic keeps its rule score
    _papers_from(devset[:150])
    topic = _new_topic()
    hit = PaperFactory(title="Faster speculative decoding with a tiny draft model", abstract="We decode.")
    assert loading.active_tagger().restricted([topic.pk]).topics[0].kind == "rules"
    review, rows = _assert_review_is_the_tagging(topic)
    assert hit.pk in rows
    (row,) = [row for row in review.preview if row.paper.pk == hit.pk]
    assert {reason.label for reason in row.reasons} >= {"speculative decoding", "draft model"}
    assert all(reason.kind == "phrase" for reason in row.reasons)
    # On a rule-scored topic the reasons are the score's own parts.
    assert sum(reason.weight for reason in row.reasons) == pytest.approx(row.score, abs=0.01)


def test_topic_page_and_paper_page_show_the_same_score_and_why(admin_client, devset):
    _papers_from(devset[:60])
    topic = TopicFactory(slug="speculative", name="Speculative decoding", keywords="speculative decoding")
    hit = PaperFactory(title="Faster speculative decoding <b>now</b>", abstract="Speculative decoding.")
    topic_retag(topic_id=topic.pk)
    stored = PaperTopic.objects.get(topic=topic, paper=hit).score
    page = admin_client.get(reverse("admin:papers_topic_change", args=[topic.pk])).content.decode()
    preview = page[page.index('id="topic-preview"') : page.index('id="topic-near-threshold"')]
    assert f"<td>{stored}</td>" in preview
    assert "“speculative decoding” +" in preview
    assert "<b>now</b>" not in page  # titles are text
    paper_page = admin_client.get(reverse("admin:papers_paper_change", args=[hit.pk])).content.decode()
    assert f"<td>Speculative decoding</td><td>{stored}</td><td>tagged (threshold 1.0)</td>" in paper_page
