"""The curators' Today page: the day's papers in digest order, reach per paper, one-click curation."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.utils import timezone

from newsletter import today
from papers.models import Paper, PaperTopic
from papers.tests.factories import PaperFactory, PaperTopicFactory, TopicFactory
from subscriptions.models import Subscriber
from subscriptions.tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db

PAGE = "/admin/today/"


@pytest.fixture(autouse=True)
def _fresh_counts():
    today.forget_reader_topic_sets()
    yield
    today.forget_reader_topic_sets()


@pytest.fixture
def day():
    """Three topics; readers: 3 follow A, 2 follow B, 1 follows A and C, 1 follows C but is paused."""
    a, b, c = (TopicFactory(name=name) for name in ("Alpha", "Beta", "Gamma"))
    for _ in range(3):
        SubscriberFactory(topics=[a])
    for _ in range(2):
        SubscriberFactory(topics=[b])
    SubscriberFactory(topics=[a, c])
    SubscriberFactory(topics=[c], paused=True)
    SubscriberFactory(topics=[a], status=Subscriber.Status.UNSUBSCRIBED)
    now = timezone.now()
    quiet = PaperFactory(title="Quiet paper", first_seen_at=now - timedelta(hours=3), trending_score=1)
    hot = PaperFactory(
        title="Hot paper", first_seen_at=now - timedelta(hours=5), trending_score=9, hf_upvotes=42
    )
    pinned = PaperFactory(title="Pinned paper", first_seen_at=now - timedelta(hours=1), featured=True)
    PaperFactory(title="Yesterday's paper", first_seen_at=now - timedelta(hours=30))
    PaperTopicFactory(paper=hot, topic=a)
    PaperTopicFactory(paper=quiet, topic=b)
    PaperTopicFactory(paper=pinned, topic=c)
    return {"topics": (a, b, c), "papers": (quiet, hot, pinned)}


@pytest.fixture
def curator(client, django_user_model):
    user = django_user_model.objects.create_user(
        "cur", "cur@paperboy.example", "pw-not-used-123", is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=["change_paper", "view_paper"]))
    client.force_login(user)
    return client


def test_reach_counts_receiving_readers_following_any_of_the_topics(day):
    a, b, c = day["topics"]
    sets = today.reader_topic_sets()
    assert sets.readers == 6  # the paused and the unsubscribed reader receive nothing
    assert sets.reach({a.pk}) == 4
    assert sets.reach({b.pk}) == 2
    assert sets.reach({c.pk}) == 1
    assert sets.reach({a.pk, c.pk}) == 4  # the reader of both counts once
    assert sets.reach(set()) == 0
    changes = sets.changes({a.pk})
    assert {t: changes[t] for t in (a.pk, b.pk, c.pk)} == {a.pk: -4, b.pk: 2, c.pk: 0}
    assert sets.changes({a.pk, c.pk})[c.pk] == 0  # the A-and-C reader still gets it through A


def test_page_lists_the_days_papers_in_digest_order_with_reach(curator, day):
    response = curator.get(PAGE)
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [row.paper.title for row in rows] == ["Pinned paper", "Hot paper", "Quiet paper"]
    assert [row.reach for row in rows] == [1, 4, 2]
    html = response.content.decode()
    assert "Alpha" in html and ">42<" in html


def test_feature_in_one_click_says_how_many_digests_it_changes_and_is_logged(curator, day):
    hot = day["papers"][1]
    response = curator.post(f"/admin/today/{hot.pk}/feature/", follow=True)
    assert Paper.objects.get(pk=hot.pk).featured
    text = response.content.decode()
    assert "changing up to 4 of tomorrow&#x27;s digests" in text
    (entry,) = LogEntry.objects.all()
    assert entry.object_id == str(hot.pk) and "Featured" in entry.change_message


def test_hide_and_re_topic(curator, day):
    a, b, _ = day["topics"]
    quiet = day["papers"][0]
    curator.post(f"/admin/today/{quiet.pk}/hide/")
    assert Paper.objects.get(pk=quiet.pk).hidden
    response = curator.post(f"/admin/today/{quiet.pk}/add-topic/", {"topic": a.pk}, follow=True)
    assert "4 of tomorrow" in response.content.decode()  # A brings the four A readers (none follow B)
    assert PaperTopic.objects.get(paper=quiet, topic=a).manual
    curator.post(f"/admin/today/{quiet.pk}/remove-topic/", {"untopic": b.pk})
    row = PaperTopic.objects.get(paper=quiet, topic=b)
    assert row.excluded and row.manual  # re-tagging will not bring it back


def test_actions_need_post_and_permission(client, curator, day, django_user_model):
    hot = day["papers"][1]
    assert curator.get(f"/admin/today/{hot.pk}/feature/").status_code == 405
    assert not Paper.objects.get(pk=hot.pk).featured
    viewer = django_user_model.objects.create_user(
        "viewer", "v@paperboy.example", "pw-not-used-123", is_staff=True
    )
    viewer.user_permissions.set(Permission.objects.filter(codename="view_paper"))
    client.force_login(viewer)
    assert client.post(f"/admin/today/{hot.pk}/feature/").status_code == 403
    assert client.get(PAGE).status_code == 403
    assert not Paper.objects.get(pk=hot.pk).featured


def test_actions_need_the_csrf_token(day, django_user_model):
    from django.test import Client

    user = django_user_model.objects.create_superuser("boss", "b@paperboy.example", "pw-not-used-123")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    hot = day["papers"][1]
    assert strict.post(f"/admin/today/{hot.pk}/feature/").status_code == 403
    assert not Paper.objects.get(pk=hot.pk).featured


def test_today_is_first_on_the_admin_index(curator, day):
    html = curator.get("/admin/").content.decode()
    assert "Today&#x27;s papers" in html or "Today's papers" in html
    assert html.index(PAGE) < html.index("/admin/papers/paper/")
