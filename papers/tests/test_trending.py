"""Trending: upvotes and comments with time decay; old papers stop trending."""

from datetime import timedelta

import pytest
from django.utils import timezone

from papers.selectors import papers_for_topics
from papers.tests.factories import PaperFactory, PaperTopicFactory, TopicFactory
from papers.trending import trending_recompute, trending_score


def test_score_halves_every_half_life():
    now = timezone.now()
    fresh = trending_score(upvotes=10, comments=1, since=now, now=now, half_life_hours=24)
    day_old = trending_score(
        upvotes=10, comments=1, since=now - timedelta(hours=24), now=now, half_life_hours=24
    )
    assert fresh == 12 and day_old == 6
    assert trending_score(upvotes=None, comments=None, since=now, now=now) == 0


@pytest.mark.django_db
def test_recompute_ranks_recent_papers_and_zeroes_old_ones(settings):
    settings.PAPERS_TRENDING_WINDOW_DAYS = 7
    now = timezone.now()
    hot = PaperFactory(hf_upvotes=50, hf_comments=5, first_seen_at=now - timedelta(hours=2))
    warm = PaperFactory(hf_upvotes=50, hf_comments=5, first_seen_at=now - timedelta(days=3))
    old = PaperFactory(hf_upvotes=500, first_seen_at=now - timedelta(days=30), trending_score=9.0)
    trending_recompute(now=now)
    for paper in (hot, warm, old):
        paper.refresh_from_db()
    assert hot.trending_score > warm.trending_score > 0 and old.trending_score == 0


@pytest.mark.django_db
def test_featured_first_then_trending_and_hidden_never():
    topic = TopicFactory()
    featured = PaperFactory(featured=True, trending_score=0)
    hot = PaperFactory(trending_score=40)
    hidden = PaperFactory(hidden=True, trending_score=99)
    excluded = PaperFactory(trending_score=50)
    for paper in (featured, hot, hidden):
        PaperTopicFactory(paper=paper, topic=topic)
    PaperTopicFactory(paper=excluded, topic=topic, excluded=True)
    assert list(papers_for_topics(topic_ids=[topic.pk])) == [featured, hot]
