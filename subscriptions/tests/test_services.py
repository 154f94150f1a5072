"""Services called by other apps: suppress, signup outcomes."""

import pytest

from subscriptions import services
from subscriptions.models import Subscriber
from subscriptions.tests.conftest import service_signup
from subscriptions.tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db


def test_signup_outcomes_follow_the_address_state(topics, django_capture_on_commit_callbacks):
    SubscriberFactory(email="active@example.com")
    SubscriberFactory(email="bounced@example.com", status=Subscriber.Status.SUPPRESSED)
    with django_capture_on_commit_callbacks() as enqueued:
        outcomes = [
            service_signup(e, topics[:1])
            for e in ("new@example.com", "active@example.com", "bounced@example.com")
        ]
        outcomes.append(service_signup("NEW@example.com", topics[:1]))
    assert outcomes == [
        services.SignupOutcome.CONFIRMATION_SENT,
        services.SignupOutcome.MANAGE_LINK_SENT,
        services.SignupOutcome.SUPPRESSED,
        services.SignupOutcome.EMAIL_LIMITED,
    ]
    assert len(enqueued) == 2  # enqueued only after commit, one per email


def test_suppress_is_final_and_idempotent(topics):
    subscriber = SubscriberFactory()
    services.subscriber_suppress(subscriber=subscriber, reason="hard bounce: 550 no such user")
    first = Subscriber.objects.get(pk=subscriber.pk)
    services.subscriber_suppress(subscriber=subscriber, reason="complaint")
    services.subscriber_unsubscribe(subscriber=subscriber, reason="later unsubscribe")
    again = Subscriber.objects.get(pk=subscriber.pk)
    assert again.status == Subscriber.Status.SUPPRESSED
    assert again.suppressed_at == first.suppressed_at and again.suppressed_reason.startswith("hard bounce")
    assert service_signup(subscriber.email, topics[:1]) == services.SignupOutcome.SUPPRESSED
    with pytest.raises(services.SubscriberSuppressed):
        services.subscriber_resubscribe(subscriber=again, ip_address=None, user_agent="", consent_text="")


def test_preferences_never_reactivate_and_revoking_changes_the_key(topics):
    subscriber = SubscriberFactory(status=Subscriber.Status.UNSUBSCRIBED)
    services.subscriber_update_preferences(
        subscriber=subscriber, preferences=services.Preferences(topics=tuple(topics)), paused=False
    )
    key = subscriber.token_key
    services.subscriber_revoke_links(subscriber=subscriber)
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    assert subscriber.token_key != key and subscriber.topics.count() == 3


def test_admin_resend_makes_a_fresh_link_even_within_the_day(topics, django_capture_on_commit_callbacks):
    service_signup("ada@example.com", topics[:1])
    subscriber = Subscriber.objects.get()
    with django_capture_on_commit_callbacks() as enqueued:
        assert services.subscriber_send_confirmation(subscriber=subscriber) is True
        assert services.subscriber_send_confirmation(subscriber=SubscriberFactory()) is False  # active
    assert len(enqueued) == 1
    assert subscriber.consents.count() == 1  # the pending signup's own record is reused
