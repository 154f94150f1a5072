"""Erasing a suppressed subscriber keeps only a keyed hash of the address: it is never mailed again."""

import hashlib

import pytest
from django.core import mail
from django.urls import reverse

from subscriptions import services
from subscriptions.models import Subscriber, SuppressedAddress
from subscriptions.tests.conftest import service_signup
from subscriptions.tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db


def _erased_after_bounce(email: str) -> None:
    reader = SubscriberFactory(email=email)
    services.subscriber_suppress(subscriber=reader, reason=f"hard bounce: 550 {email} does not exist")
    services.subscriber_erase(subscriber=Subscriber.objects.get(pk=reader.pk))


def test_an_erased_suppressed_address_gets_no_mail_when_it_signs_up_again(
    topics, django_capture_on_commit_callbacks
):
    _erased_after_bounce("Gone.Reader@example.com")
    assert not Subscriber.objects.exists()

    with django_capture_on_commit_callbacks(execute=True) as enqueued:
        outcome = service_signup("gone.reader@EXAMPLE.com", topics[:1])  # the same address, typed otherwise

    assert outcome == services.SignupOutcome.SUPPRESSED
    assert enqueued == [] and mail.outbox == []
    assert not Subscriber.objects.exists()  # nothing new about the person is stored either
    assert service_signup("someone.else@example.com", topics[:1]) == services.SignupOutcome.CONFIRMATION_SENT


def test_what_erasure_keeps_does_not_show_the_address():
    _erased_after_bounce("gone.reader@example.com")
    kept = SuppressedAddress.objects.values_list("address_hash", "suppressed_at", "created_at").get()
    text = " ".join(str(value) for value in kept).lower()
    assert "gone" not in text and "example" not in text and "550" not in text
    # Keyed: the plain hash of the address, which anyone could compute, is not what is stored.
    assert kept[0] != hashlib.sha256(b"gone.reader@example.com").hexdigest()


def test_an_erased_reader_who_had_only_unsubscribed_may_sign_up_again(topics):
    reader = SubscriberFactory(email="left@example.com")
    services.subscriber_unsubscribe(subscriber=reader, reason="no longer interested")
    services.subscriber_erase(subscriber=Subscriber.objects.get(pk=reader.pk))
    assert not SuppressedAddress.objects.exists()
    assert service_signup("left@example.com", topics[:1]) == services.SignupOutcome.CONFIRMATION_SENT


def test_the_list_still_holds_after_secret_key_rotation(settings, topics):
    _erased_after_bounce("gone.reader@example.com")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-after-rotation-0123456789-abcdefghij"
    assert service_signup("gone.reader@example.com", topics[:1]) == services.SignupOutcome.SUPPRESSED


def test_an_admin_finds_a_kept_address_by_typing_it_and_deleting_it_lets_it_back(admin_client, topics):
    _erased_after_bounce("gone.reader@example.com")
    _erased_after_bounce("other@example.com")
    changelist = reverse("admin:subscriptions_suppressedaddress_changelist")

    found = admin_client.get(changelist, {"q": "Gone.Reader@example.com"})
    assert found.status_code == 200 and len(found.context["cl"].result_list) == 1
    assert len(admin_client.get(changelist, {"q": "nobody@example.com"}).context["cl"].result_list) == 0
    assert len(admin_client.get(changelist, {"q": "not an address"}).context["cl"].result_list) == 0

    row = found.context["cl"].result_list[0]
    delete = reverse("admin:subscriptions_suppressedaddress_delete", args=[row.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert service_signup("gone.reader@example.com", topics[:1]) == services.SignupOutcome.CONFIRMATION_SENT
    assert SuppressedAddress.objects.count() == 1  # the other address stays
