"""The manage page: preferences by link, data export and erasure, revoking links."""

import json
import re

import pytest
from django.core import mail
from django.test import Client

from subscriptions.models import ConsentRecord, Subscriber
from subscriptions.signals import personal_data_erasing, personal_data_exporting
from subscriptions.tests.conftest import last_mail_to, link_from
from subscriptions.tests.factories import SubscriberFactory
from subscriptions.tokens import make_link_token

pytestmark = pytest.mark.django_db


def _path(subscriber, suffix: str = "") -> str:
    return f"/manage/{make_link_token(subscriber, 'manage')}/{suffix}"


def _form(**overrides) -> dict:
    data = {
        "topics": ["toolusers"],
        "keywords": "speculative decoding\nLoRA, mixture of experts",
        "frequency": "weekly",
        "delivery_weekday": "4",
        "delivery_hour": "18",
        "timezone": "America/New_York",
        "paused": "on",
    }
    data.update(overrides)
    return data


def test_manage_page_shows_current_choices(client, topics):
    subscriber = SubscriberFactory(topics=topics[:1], keywords="LoRA", timezone="Asia/Tokyo")
    page = client.get(_path(subscriber))
    html = page.content.decode()
    assert page.status_code == 200
    assert subscriber.email in html and "LoRA" in html
    assert re.search(r'value="lowbit" id="id_topics_\d+" checked', html)
    assert '<option value="Asia/Tokyo" selected>' in html


def test_manage_post_changes_topics_frequency_time_zone_keywords_and_pause(client, topics):
    subscriber = SubscriberFactory(topics=topics[:1])
    response = client.post(_path(subscriber), _form())
    assert response.status_code == 302 and response["Location"].endswith("?saved=1")
    subscriber.refresh_from_db()
    assert list(subscriber.topics.values_list("slug", flat=True)) == ["toolusers"]
    assert subscriber.frequency == "weekly" and subscriber.delivery_weekday == 4
    assert subscriber.delivery_hour == 18 and subscriber.timezone == "America/New_York"
    assert subscriber.keywords == "speculative decoding, LoRA, mixture of experts"
    assert subscriber.paused is True
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert b"Saved." in client.get(response["Location"]).content


@pytest.mark.parametrize(
    "overrides",
    [
        {"topics": []},
        {"topics": ["nope"]},
        {"timezone": "UTC\r\nBcc: x@example.org"},
        {"delivery_hour": "-1"},
        {"frequency": "hourly"},
        {"keywords": "x" * 501},
        {"keywords": "nul\x00byte"},
    ],
)
def test_invalid_preferences_change_nothing(client, topics, overrides):
    subscriber = SubscriberFactory(topics=topics[:1], timezone="UTC")
    response = client.post(_path(subscriber), _form(**overrides))
    assert response.status_code == 400 and b"nothing was saved" in response.content
    subscriber.refresh_from_db()
    assert subscriber.timezone == "UTC" and subscriber.paused is False
    assert list(subscriber.topics.all()) == topics[:1]


def test_manage_post_needs_csrf(topics):
    subscriber = SubscriberFactory(topics=topics[:1])
    assert Client(enforce_csrf_checks=True).post(_path(subscriber), _form()).status_code == 403
    subscriber.refresh_from_db()
    assert subscriber.paused is False


def test_tampered_manage_token_gets_404(client, topics):
    subscriber = SubscriberFactory()
    token = make_link_token(subscriber, "manage")
    for bad in (token[:-2], f"{subscriber.pk + 1}.{token.split('.')[1]}", "../admin", "%00"):
        assert client.get(f"/manage/{bad}/").status_code == 404
        assert client.post(f"/manage/{bad}/", _form()).status_code == 404
    subscriber.refresh_from_db()
    assert subscriber.paused is False


def test_export_downloads_everything_as_json_including_what_other_apps_add(client, topics):
    subscriber = SubscriberFactory(topics=topics[:2], keywords="LoRA")
    ConsentRecord.objects.create(
        subscriber=subscriber, ip_address="203.0.113.1", user_agent="UA", form_version="v1", topics=["x"]
    )

    def rows_of_another_app(sender, subscriber, **kwargs):
        return "example_rows", [{"edition_date": "2026-11-28", "status": "sent", "for": subscriber.email}]

    personal_data_exporting.connect(rows_of_another_app, dispatch_uid="test-rows")
    try:
        assert client.get(_path(subscriber, "export/")).status_code == 405  # only a button POSTs
        response = client.post(_path(subscriber, "export/"))
    finally:
        personal_data_exporting.disconnect(dispatch_uid="test-rows")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.content)
    assert data["subscriber"]["email"] == subscriber.email
    assert [t["slug"] for t in data["subscriber"]["topics"]] == ["codegen", "lowbit"]
    assert data["consent_records"][0]["ip_address"] == "203.0.113.1"
    assert data["example_rows"] == [{"edition_date": "2026-11-28", "status": "sent", "for": subscriber.email}]


def test_delete_asks_first_then_erases_personal_data_and_other_apps_scrub_theirs(client, topics):
    subscriber = SubscriberFactory(topics=topics[:1])
    ConsentRecord.objects.create(subscriber=subscriber, form_version="v1", ip_address="203.0.113.1")
    other = SubscriberFactory()
    scrubbed = []
    personal_data_erasing.connect(
        lambda sender, subscriber, **kw: scrubbed.append(subscriber.pk), weak=False, dispatch_uid="test-erase"
    )
    try:
        confirm_page = client.get(_path(subscriber, "delete/"))
        assert confirm_page.status_code == 200 and Subscriber.objects.filter(pk=subscriber.pk).exists()
        path = _path(subscriber)
        response = client.post(_path(subscriber, "delete/"))
    finally:
        personal_data_erasing.disconnect(dispatch_uid="test-erase")
    assert response.status_code == 200 and b"deleted" in response.content
    assert scrubbed == [subscriber.pk]
    assert not Subscriber.objects.filter(pk=subscriber.pk).exists()
    assert not ConsentRecord.objects.filter(ip_address="203.0.113.1").exists()
    assert Subscriber.objects.filter(pk=other.pk).exists()
    assert client.get(path).status_code == 404


def test_a_failing_erasure_receiver_rolls_everything_back(client, topics):
    subscriber = SubscriberFactory()

    def broken(sender, subscriber, **kwargs):
        raise RuntimeError("cannot scrub")

    personal_data_erasing.connect(broken, dispatch_uid="test-broken")
    try:
        with pytest.raises(RuntimeError):
            from subscriptions.services import subscriber_erase

            subscriber_erase(subscriber=subscriber)
    finally:
        personal_data_erasing.disconnect(dispatch_uid="test-broken")
    assert Subscriber.objects.filter(pk=subscriber.pk).exists()


def test_switching_off_old_links_revokes_them_and_emails_a_new_one(
    client, topics, eager_tasks, django_capture_on_commit_callbacks
):
    subscriber = SubscriberFactory()
    old = _path(subscriber)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_path(subscriber, "new-link/"))
    assert response.status_code == 200
    assert client.get(old).status_code == 404
    new = link_from(last_mail_to(subscriber.email), "manage")
    assert new != old and client.get(new).status_code == 200
    assert len(mail.outbox) == 1
