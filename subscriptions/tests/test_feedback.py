"""Readers' "more / less like this": signed links, GET records nothing, one row per click, data."""

import pytest
from django.urls import reverse

from papers.tests.factories import PaperFactory, TopicFactory
from subscriptions import services
from subscriptions.models import PaperFeedback
from subscriptions.tests.factories import SubscriberFactory
from subscriptions.tokens import feedback_link_maker, make_feedback_token, make_link_token

pytestmark = pytest.mark.django_db


def _path(url: str) -> str:
    return url[url.index("/feedback/") :]


@pytest.fixture
def reader():
    return SubscriberFactory()


@pytest.fixture
def paper():
    return PaperFactory(title="Linear attention for long context")


def test_digest_links_open_a_page_and_get_records_nothing(client, reader, paper):
    more, less = feedback_link_maker(subscriber_id=reader.pk, token_key=reader.token_key)(paper.pk)
    for url in (more, less):
        response = client.get(_path(url))
        assert response.status_code == 200
        assert "Linear attention for long context" in response.content.decode()
        assert 'method="post"' in response.content.decode()
    assert client.head(_path(more)).status_code == 200
    assert not PaperFeedback.objects.exists()


def test_post_records_the_choice_once_and_the_other_link_changes_it(client, reader, paper):
    more, less = feedback_link_maker(subscriber_id=reader.pk, token_key=reader.token_key)(paper.pk)
    first = client.post(_path(more))
    assert first.status_code == 200 and "Noted" in first.content.decode()
    row = PaperFeedback.objects.get()
    assert (row.subscriber_id, row.paper_id, row.value) == (reader.pk, paper.pk, 1)
    updated_at = row.updated_at

    second = client.post(_path(more))
    assert "Already noted" in second.content.decode()
    row.refresh_from_db()
    assert PaperFeedback.objects.count() == 1 and row.updated_at == updated_at

    client.post(_path(less))
    row.refresh_from_db()
    assert PaperFeedback.objects.count() == 1 and row.value == -1


def test_forged_tampered_and_replayed_links_are_refused(client, reader, paper):
    other = SubscriberFactory()
    token = make_feedback_token(subscriber=reader, paper_id=paper.pk, value=1)
    subscriber_id, paper_id, letter, signature = token.split(".")
    another_paper = PaperFactory()
    refused = [
        f"{other.pk}.{paper_id}.{letter}.{signature}",  # replayed for another reader
        f"{subscriber_id}.{another_paper.pk}.{letter}.{signature}",  # moved to another paper
        f"{subscriber_id}.{paper_id}.l.{signature}",  # "more" turned into "less"
        f"{subscriber_id}.{paper_id}.{letter}.{'A' * len(signature)}",  # forged
        f"{subscriber_id}.{paper_id}.{letter}",  # malformed
        f"{make_link_token(reader, 'manage')}",  # another purpose's token
        "9" * 200,
    ]
    for bad in refused:
        for method in (client.get, client.post):
            assert method(f"/feedback/{bad}/").status_code == 404, bad
    assert not PaperFeedback.objects.exists()


def test_rotating_the_readers_key_revokes_feedback_links(client, reader, paper):
    more, _less = feedback_link_maker(subscriber_id=reader.pk, token_key=reader.token_key)(paper.pk)
    services.subscriber_revoke_links(subscriber=reader)
    assert client.post(_path(more)).status_code == 404
    assert not PaperFeedback.objects.exists()


def test_the_feedback_page_needs_a_csrf_token(reader, paper):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    token = make_feedback_token(subscriber=reader, paper_id=paper.pk, value=1)
    assert strict.post(f"/feedback/{token}/").status_code == 403
    page = strict.get(f"/feedback/{token}/")
    csrf = page.cookies["csrftoken"].value
    assert strict.post(f"/feedback/{token}/", {"csrfmiddlewaretoken": csrf}).status_code == 200
    assert PaperFeedback.objects.filter(subscriber=reader, value=1).count() == 1


def test_manage_page_shows_what_the_reader_told_us_and_clears_it(client, reader, paper):
    liked_title = "<b>Bold</b> claims about attention"
    disliked = PaperFactory(title=liked_title)
    PaperFeedback.objects.create(subscriber=reader, paper=paper, value=1)
    PaperFeedback.objects.create(subscriber=reader, paper=disliked, value=-1)
    someone_else = SubscriberFactory()
    PaperFeedback.objects.create(subscriber=someone_else, paper=paper, value=-1)
    token = make_link_token(reader, "manage")

    page = client.get(reverse("subscriptions:manage", args=[token])).content.decode()
    section = page[page.index('id="feedback"') :]
    assert "More like this:</strong>" in section and "Linear attention for long context" in section
    assert "Less like this:</strong>" in section and "&lt;b&gt;Bold&lt;/b&gt;" in section
    assert "<b>Bold</b>" not in page

    assert client.get(reverse("subscriptions:feedback_clear", args=[token])).status_code == 405
    response = client.post(reverse("subscriptions:feedback_clear", args=[token]))
    assert response.status_code == 302 and "feedback_cleared=1" in response["Location"]
    assert not PaperFeedback.objects.filter(subscriber=reader).exists()
    assert PaperFeedback.objects.filter(subscriber=someone_else).count() == 1
    assert client.post(reverse("subscriptions:feedback_clear", args=["1.forged"])).status_code == 404


def test_feedback_is_exported_and_erased_with_the_readers_data(reader, paper):
    PaperFeedback.objects.create(subscriber=reader, paper=paper, value=1)
    data = services.subscriber_export_data(subscriber=reader)
    assert data["paper_feedback"] == [
        {
            "paper": paper.arxiv_id,
            "title": paper.title,
            "choice": "more like this",
            "created_at": data["paper_feedback"][0]["created_at"],
            "updated_at": data["paper_feedback"][0]["updated_at"],
        }
    ]
    services.subscriber_erase(subscriber=reader)
    assert not PaperFeedback.objects.exists()


def test_admin_counts_feedback_per_paper_and_per_topic(admin_client, paper):
    topic = TopicFactory(slug="long-context", name="Long context")
    paper.paper_topics.create(topic=topic, score=2.0)
    for value in (1, 1, -1):
        PaperFeedback.objects.create(subscriber=SubscriberFactory(), paper=paper, value=value)
    response = admin_client.get(reverse("admin:subscriptions_paperfeedback_changelist"))
    assert response.status_code == 200
    by_topic = {
        row["topic__name"]: (row["more"], row["less"]) for row in response.context["feedback_by_topic"]
    }
    assert by_topic == {"Long context": (2, 1)}
    by_paper = response.context["feedback_by_paper"]
    assert (by_paper[0]["paper_id"], by_paper[0]["more"], by_paper[0]["less"]) == (paper.pk, 2, 1)
    assert 'id="feedback-by-topic"' in response.content.decode()


def test_links_are_the_hmac_of_reader_paper_and_choice_as_the_hmac_module_computes_it(settings):
    """The links are made from prepared hash states; they must be exactly RFC 2104 HMAC-SHA256."""
    import base64
    import hashlib
    import hmac

    key = hashlib.sha256(f"paperboy.subscriptions.feedback{settings.SECRET_KEY}".encode()).digest()
    for subscriber_id, token_key, paper_id in [(1, "abc", 5), (987654, "k" * 40, 123456789), (7, "", 0)]:
        links = feedback_link_maker(subscriber_id=subscriber_id, token_key=token_key)(paper_id)
        for letter, url in zip("ml", links, strict=True):
            digest = hmac.new(key, f"{subscriber_id}:{token_key}:{paper_id}:{letter}".encode(), "sha256")
            signature = base64.urlsafe_b64encode(digest.digest()[:18]).decode()
            assert url == f"{settings.SITE_URL}/feedback/{subscriber_id}.{paper_id}.{letter}.{signature}/"
