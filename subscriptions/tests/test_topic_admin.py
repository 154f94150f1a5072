"""Topics in the admin show who follows them: the change page's followers box and the list's column."""

import pytest
from django.urls import reverse

from papers.tests.factories import PaperFactory, TopicFactory
from subscriptions.models import Subscriber

pytestmark = pytest.mark.django_db


def _follow(topic, statuses) -> None:
    for n, status in enumerate(statuses):
        Subscriber.objects.create(email=f"s{n}-{topic.slug}@example.com", status=status).topics.add(topic)


def _text(response) -> str:
    assert response.status_code == 200
    return " ".join(response.content.decode().replace("<strong>", "").replace("</strong>", "").split())


def test_topic_page_shows_followers_and_matching_papers(admin_client):
    topic = TopicFactory(keywords="speculative decoding")
    PaperFactory(title="Faster speculative decoding")
    PaperFactory(title="Unrelated work on soil")
    _follow(topic, ["active", "active", "pending"])
    text = _text(admin_client.get(reverse("admin:papers_topic_change", args=[topic.pk])))
    assert "3 subscribers follow this topic (2 active)" in text
    assert "Faster speculative decoding" in text and "Unrelated work on soil" not in text  # papers' preview


def test_topic_list_counts_each_topics_followers(admin_client):
    followed = TopicFactory(name="Followed topic")
    TopicFactory(name="Lonely topic")
    _follow(followed, ["active", "unsubscribed"])
    response = admin_client.get(reverse("admin:papers_topic_changelist"))
    assert response.status_code == 200
    admin = response.context["cl"].model_admin
    counts = {topic.name: admin.follower_count(topic) for topic in response.context["cl"].result_list}
    assert counts["Followed topic"] == 2 and counts["Lonely topic"] == 0
    assert response.content.decode().count('<td class="field-follower_count">2</td>') == 1


def test_follower_counts_come_from_the_cache_beat_refreshes(admin_client):
    """Counting follow rows takes seconds at a million readers: pages read beat's cached counts."""
    from subscriptions.selectors import topic_followers_refresh

    topic = TopicFactory(name="Growing topic")
    _follow(topic, ["active"])
    topic_followers_refresh()
    Subscriber.objects.create(email="later@example.com", status="active").topics.add(topic)
    changelist = reverse("admin:papers_topic_changelist")
    assert admin_client.get(changelist).content.decode().count('<td class="field-follower_count">1</td>') == 1
    topic_followers_refresh()
    assert admin_client.get(changelist).content.decode().count('<td class="field-follower_count">2</td>') == 1
