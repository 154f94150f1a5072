"""The topic model: corrections kept and learnt from, thresholds, the near-threshold admin view."""

import pytest
from django.urls import reverse

from papers.devset.evaluate import topic_rows
from papers.models import Paper, PaperTopic, Topic
from papers.relevance import loading
from papers.relevance.examples import examples_from_records
from papers.relevance.model import TopicSpec, fit_tagger
from papers.tag_writes import paper_topics_assign, topic_retag
from papers.tests.factories import PaperFactory, PaperTopicFactory, TopicFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_tagger")]


def _paper_from(record) -> Paper:
    return PaperFactory(
        arxiv_id=record["arxiv_id"],
        title=record["title"],
        abstract=record["abstract"],
        categories=record["categories"],
        primary_category=record["primary_category"],
    )


def _labelled(devset, slug, count, *, positive=True):
    return [r for r in devset if (slug in r["labels"]) == positive][:count]


def test_held_out_papers_are_tagged_like_the_curator_did(devset):
    """Fit on every paper but the last 60, score those: most labels come back (a cheap CV fold)."""
    specs = [TopicSpec.from_topic(row) for row in topic_rows()]
    tagger = fit_tagger(specs, examples_from_records(devset[:-60]))
    slug = {spec.id: spec.slug for spec in specs}
    agreed = total = 0
    for record, scores in zip(devset[-60:], tagger.score_many(devset[-60:]), strict=True):
        predicted = {slug[topic_id] for topic_id in scores}
        for spec in specs:
            total += 1
            agreed += (spec.slug in predicted) == (spec.slug in record["labels"])
    assert agreed / total > 0.93


def test_theory_paper_mentioning_attention_in_passing_is_not_efficient_attention():
    tagger = loading.active_tagger()
    topic = Topic.objects.get(slug="efficient-attention")
    passing = PaperFactory(
        title="Generalization bounds for overparameterized networks",
        abstract="We prove generalization bounds for deep networks, including those with attention "
        "layers, using PAC-Bayes arguments and norm-based capacity measures.",
        categories=["stat.ML"],
        primary_category="stat.ML",
    )
    about = PaperFactory(
        title="Linear attention with a compressed KV cache for long-context language models",
        abstract="We replace softmax attention with linear attention and compress the KV cache, "
        "extending the context length of language models to one million tokens at constant memory.",
    )
    passing_scores, about_scores = tagger.score_many([passing, about])
    assert topic.pk not in passing_scores
    assert topic.pk in about_scores


def test_a_new_topic_without_examples_keeps_the_rule_score():
    topic = TopicFactory(
        slug="spiking", name="Spiking networks", keywords="spiking neural network", threshold=1.0
    )
    tagger = loading.active_tagger().restricted([topic.pk])
    assert not tagger.topics[0].has_model
    title_hit = PaperFactory(title="Training spiking neural networks", abstract="Nothing else.")
    assert tagger.score_many([title_hit])[0] == {topic.pk: 2.0}  # papers.tagging's title weight


def test_curators_pins_teach_a_new_topic_and_their_rows_are_kept(devset):
    """Pins give a topic a model that scores similar unseen papers higher; re-tagging keeps corrections."""
    # No keywords: whatever the topic learns, it learns from its description and the pins.
    topic = TopicFactory(slug="graphs-too", name="Relational learning", keywords="", threshold=1.0)
    graph_papers = [r for r in _labelled(devset, "graph-learning", 25) if "graph" in r["title"].lower()]
    pinned = [_paper_from(record) for record in graph_papers[:8]]
    unseen = [_paper_from(record) for record in graph_papers[8:]]
    others = [_paper_from(record) for record in _labelled(devset, "graph-learning", 6, positive=False)]
    assert len(unseen) >= 4
    before = loading.active_tagger().restricted([topic.pk])
    assert not before.topics[0].has_model
    scores_before = before.scores(unseen)[:, 0]

    for paper in pinned:
        PaperTopicFactory(paper=paper, topic=topic, manual=True, score=1.0)
    removed = others[0]
    PaperTopicFactory(paper=removed, topic=topic, manual=True, excluded=True, score=0.0)
    after = loading.active_tagger().restricted([topic.pk])
    assert after.topics[0].has_model and after.topics[0].positives == len(pinned)
    scores_after = after.scores(unseen)[:, 0]
    assert (scores_before >= topic.threshold).sum() == 0
    # Eight pins and no keywords teach it some, not all (a curator adds keywords or more pins).
    assert (scores_after >= topic.threshold).sum() >= len(unseen) // 4
    others_after = after.scores(others[1:])[:, 0]
    assert (others_after >= topic.threshold).sum() == 0
    assert scores_after.mean() > 3 * others_after.mean()

    topic_retag(topic_id=topic.pk)
    rows = {row.paper_id: row for row in PaperTopic.objects.filter(topic=topic)}
    assert all(rows[paper.pk].manual and not rows[paper.pk].excluded for paper in pinned)
    assert rows[removed.pk].excluded and rows[removed.pk].score == 0.0


def test_a_correction_refits_the_cached_tagger_and_nothing_else_does():
    first = loading.active_tagger()
    assert loading.active_tagger() is first
    paper = PaperFactory(title="A note on cats", abstract="Cats.")
    PaperTopicFactory(paper=paper, topic=Topic.objects.get(slug="rag"), manual=True, excluded=True)
    assert loading.active_tagger() is not first


def test_raising_the_threshold_removes_borderline_tags(devset):
    topic = Topic.objects.get(slug="diffusion")
    papers = [_paper_from(record) for record in _labelled(devset, "diffusion", 10)]
    paper_topics_assign(papers=papers, index=loading.active_tagger())
    before = PaperTopic.objects.filter(topic=topic).count()
    scores = sorted(PaperTopic.objects.filter(topic=topic).values_list("score", flat=True))
    assert before >= 6
    Topic.objects.filter(pk=topic.pk).update(threshold=scores[len(scores) // 2] + 0.001)
    topic_retag(topic_id=topic.pk)
    after = PaperTopic.objects.filter(topic=topic).count()
    assert 0 < after < before
    assert all(
        score >= scores[len(scores) // 2]
        for score in PaperTopic.objects.filter(topic=topic).values_list("score", flat=True)
    )


def test_near_threshold_preview_lists_papers_on_both_sides(admin_client, devset):
    topic = Topic.objects.get(slug="agents")
    for record in devset[:120]:
        _paper_from(record)
    evil = PaperFactory(title="<script>alert(1)</script> LLM agents that plan with tools", abstract="Agents.")
    response = admin_client.get(reverse("admin:papers_topic_change", args=[topic.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    section = page[page.index('id="topic-near-threshold"') :]
    assert "near-above" in section and "near-below" in section
    assert "<script>alert(1)</script>" not in page
    near = response.context["topic_near_threshold"]
    above = [n.score for n in near if n.tagged]
    below = [n.score for n in near if not n.tagged]
    assert above and below
    assert min(above) >= topic.threshold > max(below)
    assert evil.pk in {n.paper.pk for n in near} or len(above) == 8
