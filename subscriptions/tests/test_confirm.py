"""Confirmation links: GET shows a button, POST confirms; forged, tampered, expired, revoked, replayed."""

import time

import pytest
from django.core import signing

from subscriptions import services
from subscriptions.models import Subscriber
from subscriptions.tests.conftest import last_mail_to, link_from
from subscriptions.tokens import ExpiredToken, InvalidToken, confirmation_from_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def confirm_path(sign_up, topics):
    sign_up("ada@example.com")
    return link_from(last_mail_to("ada@example.com"), "confirm")


def _status() -> str:
    return Subscriber.objects.get(email="ada@example.com").status


def test_get_shows_a_confirm_button_and_changes_nothing(client, confirm_path):
    page = client.get(confirm_path)
    assert page.status_code == 200
    assert b"Confirm my subscription" in page.content and b'method="post"' in page.content
    client.head(confirm_path)
    assert _status() == Subscriber.Status.PENDING
    assert b'<meta name="robots" content="noindex">' in page.content


def test_post_confirms_and_applies_the_choices_of_that_signup(client, confirm_path, topics):
    response = client.post(confirm_path)
    assert response.status_code == 200 and b"subscribed" in response.content
    subscriber = Subscriber.objects.get(email="ada@example.com")
    assert subscriber.status == Subscriber.Status.ACTIVE and subscriber.confirmed_at
    assert subscriber.timezone == "Europe/Berlin"
    assert sorted(subscriber.topics.values_list("slug", flat=True)) == ["codegen", "lowbit"]
    assert subscriber.consents.get().confirmed_at is not None
    # A second click is harmless.
    assert client.post(confirm_path).status_code == 200


def _flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda t: _flip(t, len(t) - 3), id="signature"),
        pytest.param(lambda t: _flip(t, 0), id="subscriber-id"),
        pytest.param(lambda t: "9" + t, id="prefixed"),
        pytest.param(lambda t: t.split(":")[0], id="unsigned"),
        pytest.param(lambda t: t + "x" * 300, id="overlong"),
        pytest.param(lambda t: "junk", id="junk"),
    ],
)
def test_tampered_confirm_tokens_get_404_and_change_nothing(client, confirm_path, mangle):
    token = confirm_path.split("/")[2]
    bad = f"/confirm/{mangle(token)}/"
    assert client.get(bad).status_code == 404
    assert client.post(bad).status_code == 404
    assert _status() == Subscriber.Status.PENDING


def test_a_forged_token_signed_with_another_key_is_refused(client, confirm_path):
    subscriber = Subscriber.objects.get()
    consent = subscriber.consents.get()
    forged = signing.TimestampSigner(key="not-our-secret", salt="paperboy.subscriptions.confirm").sign(
        f"{subscriber.pk}.{consent.pk}.whatever"
    )
    assert client.post(f"/confirm/{forged}/").status_code == 404
    assert _status() == Subscriber.Status.PENDING


def test_an_expired_token_gets_400_and_changes_nothing(client, confirm_path, monkeypatch):
    eight_days_later = time.time() + 8 * 24 * 3600
    monkeypatch.setattr(signing.time, "time", lambda: eight_days_later)
    with pytest.raises(ExpiredToken):
        confirmation_from_token(confirm_path.split("/")[2])
    response = client.post(confirm_path)
    assert response.status_code == 400 and b"expired" in response.content
    assert _status() == Subscriber.Status.PENDING


def test_revoking_links_revokes_the_confirmation_link(client, confirm_path):
    services.subscriber_revoke_links(subscriber=Subscriber.objects.get())
    with pytest.raises(InvalidToken):
        confirmation_from_token(confirm_path.split("/")[2])
    assert client.post(confirm_path).status_code == 404
    assert _status() == Subscriber.Status.PENDING


def test_a_used_link_cannot_be_replayed_after_unsubscribing(client, confirm_path):
    client.post(confirm_path)
    services.subscriber_unsubscribe(subscriber=Subscriber.objects.get(), reason="test")
    response = client.post(confirm_path)
    assert response.status_code == 400
    assert _status() == Subscriber.Status.UNSUBSCRIBED


def test_an_unused_link_older_than_an_unsubscribe_is_refused(client, confirm_path):
    subscriber = Subscriber.objects.get()
    services.subscriber_unsubscribe(subscriber=subscriber, reason="test")
    assert client.post(confirm_path).status_code == 400
    assert _status() == Subscriber.Status.UNSUBSCRIBED


def test_a_suppressed_address_cannot_be_confirmed(client, confirm_path):
    services.subscriber_suppress(subscriber=Subscriber.objects.get(), reason="hard bounce")
    assert client.post(confirm_path).status_code == 400
    assert _status() == Subscriber.Status.SUPPRESSED


def test_confirming_an_old_link_of_an_active_subscriber_keeps_their_current_choices(
    client, confirm_path, topics
):
    client.post(confirm_path)
    subscriber = Subscriber.objects.get()
    subscriber.timezone = "Asia/Tokyo"
    subscriber.save()
    consent = subscriber.consents.get()
    consent.confirmed_at = None  # as if a second, older link was never used
    consent.save()
    client.post(confirm_path)
    assert Subscriber.objects.get().timezone == "Asia/Tokyo"
