"""Reads on subscribers: who receives digests, as a query and as a test on one subscriber."""

import pytest

from subscriptions.models import Subscriber
from subscriptions.selectors import receives_digests, receiving
from subscriptions.tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db


def test_only_active_unpaused_subscribers_receive_digests_and_both_forms_agree():
    readers = [
        SubscriberFactory(status=status, paused=paused)
        for status in Subscriber.Status.values
        for paused in (False, True)
    ]
    received = set(receiving().values_list("pk", flat=True))
    assert received == {r.pk for r in readers if r.status == Subscriber.Status.ACTIVE and not r.paused}
    assert {r.pk for r in readers if receives_digests(r)} == received
    assert receives_digests(None) is False  # a delivery whose reader was erased
