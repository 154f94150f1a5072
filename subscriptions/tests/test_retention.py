"""Unconfirmed signups are deleted after SUBSCRIPTIONS_PURGE_UNCONFIRMED_AFTER_DAYS (beat runs the purge)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from subscriptions.models import ConsentRecord, Subscriber
from subscriptions.retention import subscribers_purge_unconfirmed
from subscriptions.tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db


def test_purge_deletes_only_unconfirmed_signups_older_than_30_days(topics):
    old_pending = SubscriberFactory(status=Subscriber.Status.PENDING, confirmed_at=None)
    fresh_pending = SubscriberFactory(status=Subscriber.Status.PENDING, confirmed_at=None)
    old_active = SubscriberFactory()
    ConsentRecord.objects.create(subscriber=old_pending, form_version="v")
    month_ago = timezone.now() - timedelta(days=31)
    Subscriber.objects.filter(pk__in=[old_pending.pk, old_active.pk]).update(created_at=month_ago)

    assert subscribers_purge_unconfirmed() == 1
    assert subscribers_purge_unconfirmed() == 0  # a second run does nothing
    remaining = set(Subscriber.objects.values_list("pk", flat=True))
    assert remaining == {fresh_pending.pk, old_active.pk}
    assert not ConsentRecord.objects.filter(subscriber_id=old_pending.pk).exists()
