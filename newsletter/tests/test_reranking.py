"""Feedback re-orders the next digest: papers like the liked one move up, like the disliked one down."""

import pytest

from newsletter import reranking
from newsletter.reranking import paper_vectors, reader_profiles_load, rerank
from papers.relevance import loading
from papers.relevance.labelled import load_devset
from papers.tests.factories import PaperFactory
from subscriptions.models import PaperFeedback
from subscriptions.tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_tagger(monkeypatch):
    """A fresh tagger and vector cache: on SQLite a rolled-back test's paper ids are used again, so
    rows another test cached under the same id would be another paper's."""
    loading.forget_tagger()
    monkeypatch.setattr(reranking, "_vectors", None)
    yield
    loading.forget_tagger()


def _only(devset, slug, count, skip=0):
    """Real papers labelled with this topic and no other."""
    return [_paper(r) for r in [r for r in devset if r["labels"] == [slug]][skip : skip + count]]


def _paper(record):
    return PaperFactory(
        arxiv_id=record["arxiv_id"],
        title=record["title"],
        abstract=record["abstract"],
        categories=record["categories"],
        primary_category=record["primary_category"],
    )


@pytest.fixture(scope="module")
def devset():
    return load_devset()


@pytest.fixture
def digest(devset):
    """A reader of diffusion and robot learning: 8 + 8 candidates interleaved by the topic ranking,
    plus one paper of each topic from an earlier digest."""
    diffusion = _only(devset, "diffusion", 9)
    robots = _only(devset, "robot-learning", 9)
    candidates = [paper.pk for pair in zip(diffusion[1:], robots[1:], strict=True) for paper in pair]
    return {"candidates": candidates, "diffusion": diffusion, "robots": robots}


def _mean_position(order, papers):
    ids = {paper.pk for paper in papers}
    positions = [position for position, paper_id in enumerate(order) if paper_id in ids]
    return sum(positions) / len(positions)


def test_a_reader_without_feedback_gets_the_topic_ranking(digest):
    reader = SubscriberFactory()
    profiles = reader_profiles_load(subscriber_ids=[reader.pk])
    assert profiles == {}
    assert (
        rerank(digest["candidates"], profiles.get(reader.pk), vectors=paper_vectors()) == digest["candidates"]
    )


def test_liking_a_robot_paper_moves_robot_papers_up(digest):
    reader = SubscriberFactory()
    PaperFeedback.objects.create(subscriber=reader, paper=digest["robots"][0], value=1)
    profile = reader_profiles_load(subscriber_ids=[reader.pk])[reader.pk]

    order = rerank(digest["candidates"], profile, vectors=paper_vectors())

    robots = digest["robots"][1:]
    assert _mean_position(order, robots) < _mean_position(digest["candidates"], robots) - 2
    # Interleaved, the first eight held four robot papers.
    assert sum(1 for paper_id in order[:8] if paper_id in {p.pk for p in robots}) >= 5


def test_disliking_a_diffusion_paper_moves_diffusion_papers_down(digest):
    reader = SubscriberFactory()
    PaperFeedback.objects.create(subscriber=reader, paper=digest["diffusion"][0], value=-1)
    profile = reader_profiles_load(subscriber_ids=[reader.pk])[reader.pk]

    order = rerank(digest["candidates"], profile, vectors=paper_vectors())

    diffusion = digest["diffusion"][1:]
    assert _mean_position(order, diffusion) > _mean_position(digest["candidates"], diffusion) + 2


def test_the_papers_a_like_lifted_are_the_ones_close_to_it_and_a_dislike_lifts_none(digest):
    fan, critic = SubscriberFactory(), SubscriberFactory()
    PaperFeedback.objects.create(subscriber=fan, paper=digest["robots"][0], value=1)
    PaperFeedback.objects.create(subscriber=critic, paper=digest["diffusion"][0], value=-1)
    profiles = reader_profiles_load(subscriber_ids=[fan.pk, critic.pk])

    order, lifted = reranking.rerank_explained(
        digest["candidates"], profiles[fan.pk], vectors=paper_vectors()
    )
    assert order == rerank(digest["candidates"], profiles[fan.pk], vectors=paper_vectors())
    robots = {p.pk for p in digest["robots"]}
    assert lifted and lifted <= robots  # "like papers you liked": robot papers only
    _order, none = reranking.rerank_explained(
        digest["candidates"], profiles[critic.pk], vectors=paper_vectors()
    )
    assert none == frozenset()
    assert reranking.rerank_explained(digest["candidates"], None, vectors=paper_vectors())[1] == frozenset()


def test_feedback_never_adds_papers_outside_the_candidates(digest, devset):
    reader = SubscriberFactory()
    liked = digest["robots"][0]
    similar_but_not_a_candidate = _only(devset, "robot-learning", 3, skip=9)
    for paper in (liked, *similar_but_not_a_candidate):
        PaperFeedback.objects.create(subscriber=reader, paper=paper, value=1)
    profile = reader_profiles_load(subscriber_ids=[reader.pk])[reader.pk]

    order = rerank(digest["candidates"], profile, vectors=paper_vectors())

    assert sorted(order) == sorted(digest["candidates"])
    assert liked.pk not in order


def test_profiles_of_a_chunk_load_in_one_query_and_only_for_readers_with_feedback(
    digest, django_assert_max_num_queries
):
    vectors = paper_vectors()
    vectors.ensure(digest["candidates"])
    readers = [SubscriberFactory() for _ in range(30)]
    for reader in readers[:5]:
        PaperFeedback.objects.create(subscriber=reader, paper=digest["robots"][0], value=1)
    vectors.ensure([digest["robots"][0].pk])
    with django_assert_max_num_queries(1):
        profiles = reader_profiles_load(subscriber_ids=[reader.pk for reader in readers], vectors=vectors)
    assert set(profiles) == {reader.pk for reader in readers[:5]}
    with django_assert_max_num_queries(0):
        for reader in readers:
            rerank(digest["candidates"], profiles.get(reader.pk), vectors=vectors)


def _rewrite_as(paper, source):
    """A curator replaces a paper's text (a wrong abstract came in with the feed)."""
    paper.title, paper.abstract = source.title, source.abstract
    paper.categories, paper.primary_category = source.categories, source.primary_category
    paper.save()


def test_a_liked_paper_whose_text_is_edited_counts_with_its_new_text(digest):
    reader = SubscriberFactory()
    liked = digest["robots"][0]
    PaperFeedback.objects.create(subscriber=reader, paper=liked, value=1)
    vectors = paper_vectors()
    reader_profiles_load(subscriber_ids=[reader.pk], vectors=vectors)  # the robot text, vectorised

    _rewrite_as(liked, digest["diffusion"][0])
    profile = reader_profiles_load(subscriber_ids=[reader.pk], vectors=vectors)[reader.pk]
    order = rerank(digest["candidates"], profile, vectors=vectors)

    # Ranked as a worker started after the edit ranks it: the liked paper is a diffusion paper now.
    restarted = type(vectors)(vectors.tagger)
    fresh = reader_profiles_load(subscriber_ids=[reader.pk], vectors=restarted)[reader.pk]
    assert order == rerank(digest["candidates"], fresh, vectors=restarted)
    diffusion = digest["diffusion"][1:]
    assert _mean_position(order, diffusion) < _mean_position(digest["candidates"], diffusion)


def test_a_candidate_whose_text_is_edited_is_vectorised_again(digest):
    candidate = digest["robots"][1]
    vectors = paper_vectors()
    vectors.ensure({candidate.pk: candidate.updated_at})
    before = vectors.matrix([candidate.pk]).toarray()

    _rewrite_as(candidate, digest["diffusion"][1])
    vectors.ensure({candidate.pk: candidate.updated_at})
    after = vectors.matrix([candidate.pk]).toarray()

    fresh = type(vectors)(vectors.tagger)
    fresh.ensure([candidate.pk])
    assert (after != before).any()
    assert (after == fresh.matrix([candidate.pk]).toarray()).all()
