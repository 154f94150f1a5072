"""Starting from what a reader knows: papers they liked and authors they follow, on the manage page."""

import html
import json

import pytest

from papers.tests.factories import PaperFactory
from subscriptions.models import PaperFeedback, Subscriber
from subscriptions.tests.conftest import last_mail_to, link_from
from subscriptions.tests.factories import SubscriberFactory
from subscriptions.tokens import make_link_token

pytestmark = pytest.mark.django_db


def _path(subscriber, suffix: str = "") -> str:
    return f"/manage/{make_link_token(subscriber, 'manage')}/{suffix}"


def _form(**seeds) -> dict:
    return {"topics": ["lowbit"], "frequency": "daily", "delivery_hour": "7", "timezone": "UTC", **seeds}


def _page(response) -> str:
    return html.unescape(response.content.decode())


def test_pasted_ids_and_links_become_more_like_this(client, topics):
    reader = SubscriberFactory(topics=topics[:1])
    first = PaperFactory(arxiv_id="2601.00011")
    second = PaperFactory(arxiv_id="2601.00022")
    pasted = "2601.00011v2\nhttps://arxiv.org/abs/2601.00022, 2601.00011"
    assert client.post(_path(reader), _form(liked_papers=pasted)).status_code == 302
    rows = PaperFeedback.objects.filter(subscriber=reader)
    assert {(row.paper_id, row.value) for row in rows} == {(first.pk, 1), (second.pk, 1)}
    # "What you told us" lists them, as it lists the "more like this" clicks.
    assert _page(client.get(_path(reader))).count("More like this:") == 2


@pytest.mark.parametrize(
    "pasted, message",
    [
        ("2601.00011\n2601.99999", "Paperboy does not have 2601.99999 yet"),
        ("2601.00011 not-an-id", "Not an arXiv id or link: not-an-id."),
    ],
)
def test_a_paper_it_cannot_use_is_named_next_to_the_field_and_nothing_is_saved(
    client, topics, pasted, message
):
    reader = SubscriberFactory(topics=topics[:1], keywords="kept")
    PaperFactory(arxiv_id="2601.00011")
    response = client.post(_path(reader), _form(liked_papers=pasted, keywords="changed"))
    assert response.status_code == 400
    page = _page(response)
    field = page.index('id="id_liked_papers"')
    assert message in page[field : field + 1500]  # in the field's own error list
    assert pasted.split()[0] in page  # what was typed stays in the box
    reader.refresh_from_db()
    assert reader.keywords == "kept" and not PaperFeedback.objects.filter(subscriber=reader).exists()


def test_a_name_several_authors_answer_to_is_shown_back_before_it_is_saved(client, topics):
    PaperFactory(title="Notes on the Engine", authors=["Ada Lovelace"])
    PaperFactory(title="Looms", authors=["Alan Lovelace"])
    reader = SubscriberFactory(topics=topics[:1])

    asked = client.post(_path(reader), _form(follow_authors="Lovelace, A."))
    assert asked.status_code == 400
    page = _page(asked)
    assert "“Lovelace, A.” is more than one author here" in page
    assert "Ada Lovelace (“Notes on the Engine”)" in page and "Alan Lovelace (“Looms”)" in page
    assert 'name="confirm_authors"' in page  # the way to say "yes, as written"
    reader.refresh_from_db()
    assert reader.followed_authors == []

    confirmed = client.post(_path(reader), _form(follow_authors="Lovelace, A.", confirm_authors="on"))
    assert confirmed.status_code == 302
    reader.refresh_from_db()
    assert reader.followed_authors == ["Lovelace, A."]
    # Saved once, it is not asked about again; a full name one person answers to is never asked about.
    again = client.post(_path(reader), _form(follow_authors="Lovelace, A.\nAda Lovelace"))
    assert again.status_code == 302
    reader.refresh_from_db()
    assert reader.followed_authors == ["Lovelace, A.", "Ada Lovelace"]
    assert "Lovelace, A.\nAda Lovelace" in _page(client.get(_path(reader)))  # shown back in the box
    # Emptying the box follows no one.
    assert client.post(_path(reader), _form(follow_authors="")).status_code == 302
    reader.refresh_from_db()
    assert reader.followed_authors == []


def test_followed_authors_are_in_the_export_and_gone_with_the_erasure(client, topics):
    reader = SubscriberFactory(topics=topics[:1])
    liked = PaperFactory(arxiv_id="2601.00033", title="A liked paper")
    assert (
        client.post(_path(reader), _form(follow_authors="Kurt Gödel", liked_papers="2601.00033")).status_code
        == 302
    )
    exported = json.loads(client.post(_path(reader, "export/")).content)
    assert exported["subscriber"]["followed_authors"] == ["Kurt Gödel"]
    assert [row["paper"] for row in exported["paper_feedback"]] == [liked.arxiv_id]
    assert client.post(_path(reader, "delete/")).status_code in (200, 302)
    assert not Subscriber.objects.filter(pk=reader.pk).exists()
    assert not PaperFeedback.objects.filter(paper=liked).exists()


def test_papers_and_authors_given_at_signup_wait_for_the_confirmation(client, sign_up, topics):
    liked = PaperFactory(arxiv_id="2601.00044")
    response = sign_up("grace@example.com", liked_papers="arXiv:2601.00044", follow_authors="Ada Lovelace")
    assert response.status_code == 302
    reader = Subscriber.objects.get(email="grace@example.com")
    # Someone may have typed a stranger's address: nothing is recorded for it before the owner confirms.
    assert reader.followed_authors == [] and not PaperFeedback.objects.filter(subscriber=reader).exists()
    assert client.post(link_from(last_mail_to("grace@example.com"), "confirm")).status_code == 200
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.ACTIVE and reader.followed_authors == ["Ada Lovelace"]
    assert list(PaperFeedback.objects.filter(subscriber=reader).values_list("paper_id", "value")) == [
        (liked.pk, 1)
    ]


def test_a_signup_with_an_unknown_paper_says_so_and_keeps_what_was_typed(client, sign_up, topics):
    response = sign_up("grace@example.com", liked_papers="2601.99999")
    assert response.status_code == 400
    page = _page(response)
    assert "Paperboy does not have 2601.99999 yet" in page and '<details class="field seeds" open>' in page
    assert 'value="grace@example.com"' in page and not Subscriber.objects.exists()


def test_a_signup_with_papers_only_keeps_the_authors_already_followed(client, sign_up, topics):
    reader = SubscriberFactory(
        email="grace@example.com", status=Subscriber.Status.UNSUBSCRIBED, followed_authors=["Ada Lovelace"]
    )
    PaperFactory(arxiv_id="2601.00055")
    assert sign_up("grace@example.com", liked_papers="2601.00055").status_code == 302
    assert client.post(link_from(last_mail_to("grace@example.com"), "confirm")).status_code == 200
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.ACTIVE and reader.followed_authors == ["Ada Lovelace"]
    assert PaperFeedback.objects.filter(subscriber=reader).count() == 1
