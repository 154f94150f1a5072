"""A subscriber's deliveries are part of their data export, and are scrubbed when they erase it."""

import json

import pytest

from newsletter.links import digest_token
from newsletter.models import Delivery, ProviderEvent
from subscriptions.services import subscriber_erase, subscriber_export_data
from subscriptions.tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivery():
    delivery = Delivery.objects.create(
        subscriber=SubscriberFactory(email="leaving@example.com"),
        edition_date="2026-04-28",
        status=Delivery.Status.SENT,
        paper_ids=[3, 1],
        subject="2 new papers on Quantization — Apr 28",
        provider_message_id="pm-123",
        last_error="550 leaving@example.com: mailbox full (earlier attempt)",
        opens=2,
    )
    ProviderEvent.objects.create(
        event_id="pm:opened:1",
        esp_name="Postmark",
        event_type="opened",
        delivery=delivery,
        message_id="pm-123",
        occurred_at="2026-04-28T08:00:00Z",
        outcome="counted",
    )
    return delivery


def test_export_lists_the_subscribers_deliveries_and_their_events(delivery):
    SubscriberFactory()  # someone else's data stays out
    data = subscriber_export_data(subscriber=delivery.subscriber)
    json.dumps(data)  # the export is JSON
    [row] = data["deliveries"]
    assert row["edition_date"] == "2026-04-28"
    assert row["paper_ids"] == [3, 1]
    assert row["opens"] == 2
    assert [event["type"] for event in row["provider_events"]] == ["opened"]


def test_erasure_keeps_anonymous_counts_and_drops_what_identifies(client, delivery):
    subscriber = delivery.subscriber
    subscriber_erase(subscriber=subscriber)

    delivery.refresh_from_db()
    assert delivery.subscriber is None
    assert (delivery.status, delivery.paper_ids, delivery.opens) == ("sent", [3, 1], 2)
    assert delivery.provider_message_id == delivery.last_error == delivery.subject == ""
    assert ProviderEvent.objects.get().message_id == ""
    assert client.get(f"/digest/{digest_token(delivery.pk)}/").status_code == 404
