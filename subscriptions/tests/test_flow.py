"""The whole life of a subscription through Django's test client, as a person would click it."""

import re

import pytest
from django.core import mail

from subscriptions.models import ConsentRecord, Subscriber
from subscriptions.tests.conftest import last_mail_to, link_from

pytestmark = pytest.mark.django_db


def test_signup_confirm_manage_unsubscribe_resubscribe(client, sign_up, topics, settings):
    settings.SITE_URL = "https://papers.example.com"
    # Sign up: a pending subscriber and a confirmation email.
    assert "Get trending papers in your email inbox" in client.get("/").content.decode()
    response = sign_up(
        "grace@example.com", topics=["codegen"], timezone="America/New_York", delivery_hour="8"
    )
    assert client.get(response["Location"]).status_code == 200
    confirmation = last_mail_to("grace@example.com")
    confirm_path = link_from(confirmation, "confirm")
    assert "https://papers.example.com/confirm/" in confirmation.body
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING

    # The link opens a page (a mail scanner's GET changes nothing); the button confirms.
    assert client.get(confirm_path).status_code == 200
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING
    confirmed = client.post(confirm_path)
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert (subscriber.timezone, subscriber.delivery_hour) == ("America/New_York", 8)

    # Manage: the confirmed page links to the preferences; change topics and frequency.
    manage_path = confirmed.context["manage_path"]
    page = client.get(manage_path)
    assert page.status_code == 200 and b"grace@example.com" in page.content
    saved = client.post(
        manage_path,
        {"topics": ["lowbit", "toolusers"], "frequency": "weekly", "delivery_weekday": "2",
         "delivery_hour": "9", "timezone": "Europe/Paris", "keywords": "LoRA"},
    )  # fmt: skip
    assert saved.status_code == 302
    subscriber.refresh_from_db()
    assert sorted(subscriber.topics.values_list("slug", flat=True)) == ["lowbit", "toolusers"]
    assert (subscriber.frequency, subscriber.delivery_weekday) == ("weekly", 2)

    # Unsubscribe from the link on the manage page: GET asks, POST acts.
    manage_page = client.get(manage_path).content.decode()
    unsubscribe_path = re.search(r'<a href="(/unsubscribe/[^"]+)">Unsubscribe from', manage_page)[1]
    assert client.get(unsubscribe_path).status_code == 200
    assert Subscriber.objects.get().status == Subscriber.Status.ACTIVE
    done = client.post(unsubscribe_path)
    assert done.status_code == 200 and b"Subscribe again" in done.content
    assert Subscriber.objects.get().status == Subscriber.Status.UNSUBSCRIBED

    # Resubscribe from the resulting page: active again with the same choices.
    back = client.post(f"{unsubscribe_path}resubscribe/")
    assert back.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert subscriber.frequency == "weekly" and subscriber.keywords == "LoRA"
    assert list(subscriber.consents.values_list("action", flat=True).order_by("created_at", "pk")) == [
        ConsentRecord.Action.SIGNUP,
        ConsentRecord.Action.UNSUBSCRIBE,
        ConsentRecord.Action.RESUBSCRIBE,
    ]
    assert len(mail.outbox) == 1  # only the confirmation: nothing else was emailed
