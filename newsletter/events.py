"""What Paperboy learns from its email provider: each tracking event recorded once, then acted on.

Failure semantics:
- An event is recorded and acted on in one transaction. If acting fails (say the database goes away),
  nothing is recorded, the webhook answers 500 and the provider sends the event again later.
- Events are deduplicated by `ProviderEvent.event_id` (unique). A replayed event, or two copies
  arriving at once, insert one row; the loser of the race sees the unique violation and does nothing,
  so counts never double and a subscriber is never suppressed twice.
- Events that name no delivery and no subscriber of ours are dropped without a trace: there is
  nothing to act on, and anyone able to post webhooks must not be able to fill the table.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F

from subscriptions.models import Subscriber

from .models import Delivery, ProviderEvent

logger = logging.getLogger(__name__)

DELIVERED = "delivered"
OPENED = "opened"
CLICKED = "clicked"
BOUNCED = "bounced"
COMPLAINED = "complained"
REJECTED = "rejected"
UNSUBSCRIBED = "unsubscribed"

#: The event types we act on (anymail's normalised names); every other type is ignored.
HANDLED_TYPES = frozenset({DELIVERED, OPENED, CLICKED, BOUNCED, COMPLAINED, REJECTED, UNSUBSCRIBED})

# anymail reject reasons that say the address itself is bad or unwilling: never mail it again.
_SUPPRESSING_REJECT_REASONS = frozenset({"invalid", "bounced", "spam", "timed_out"})


@dataclass(frozen=True)
class TrackingEvent:
    """A provider event, validated and trimmed to what we store (built by newsletter.webhooks)."""

    event_id: str
    esp_name: str
    event_type: str
    occurred_at: datetime
    message_id: str = ""
    delivery_id: int | None = None  # from the message metadata we sent
    recipient: str = ""
    url: str = ""
    reject_reason: str = ""
    permanent: bool = False  # for bounces: a hard bounce (the provider said the address is dead)


def _outcome(event: TrackingEvent) -> str:
    if event.event_type in (DELIVERED, OPENED, CLICKED):
        return ProviderEvent.Outcome.COUNTED
    if event.event_type == COMPLAINED:
        return ProviderEvent.Outcome.SUPPRESSED
    if event.event_type == BOUNCED:
        return ProviderEvent.Outcome.SUPPRESSED if event.permanent else ProviderEvent.Outcome.NOTED
    if event.event_type == UNSUBSCRIBED or event.reject_reason == "unsubscribed":
        return ProviderEvent.Outcome.UNSUBSCRIBED
    if event.event_type == REJECTED and event.reject_reason in _SUPPRESSING_REJECT_REASONS:
        return ProviderEvent.Outcome.SUPPRESSED
    return ProviderEvent.Outcome.NOTED


def _delivery_for(event: TrackingEvent) -> Delivery | None:
    deliveries = Delivery.objects.select_related("subscriber")
    if event.message_id:
        delivery = deliveries.filter(provider_message_id=event.message_id).first()
        if delivery is not None:
            return delivery
    if event.delivery_id is not None and event.recipient:
        # Metadata ids are sequential, so they only count when the recipient matches the row too.
        delivery = deliveries.filter(pk=event.delivery_id).first()
        if delivery and delivery.subscriber and delivery.subscriber.email.lower() == event.recipient.lower():
            return delivery
    return None


def _subscriber_for(event: TrackingEvent, delivery: Delivery | None, outcome: str) -> Subscriber | None:
    if delivery is not None:
        return delivery.subscriber
    if outcome in (ProviderEvent.Outcome.SUPPRESSED, ProviderEvent.Outcome.UNSUBSCRIBED) and event.recipient:
        # A bounce of a mail that is no digest (a confirmation email) still means the address is dead.
        return Subscriber.objects.filter(email__iexact=event.recipient).first()
    return None


def provider_event_record(*, event: TrackingEvent) -> ProviderEvent | None:
    """Store the event once and apply it; None when it is a replay or names nothing of ours."""
    outcome = _outcome(event)
    delivery = _delivery_for(event)
    subscriber = _subscriber_for(event, delivery, outcome)
    if delivery is None and subscriber is None:
        logger.info(
            "Ignored %s %s event: no delivery or subscriber matches", event.esp_name, event.event_type
        )
        return None

    with transaction.atomic():
        try:
            with transaction.atomic():
                recorded = ProviderEvent.objects.create(
                    event_id=event.event_id,
                    esp_name=event.esp_name,
                    event_type=event.event_type,
                    delivery=delivery,
                    message_id=event.message_id,
                    url=event.url,
                    occurred_at=event.occurred_at,
                    reject_reason=event.reject_reason,
                    outcome=outcome,
                )
        except IntegrityError:
            logger.info("Ignored replayed %s event %s", event.esp_name, event.event_id)
            return None
        _apply(event, outcome, delivery, subscriber)
    return recorded


def _apply(
    event: TrackingEvent, outcome: str, delivery: Delivery | None, subscriber: Subscriber | None
) -> None:
    # Imported here: subscriptions.services pulls in mail and token code the webhook path only
    # needs for the rare suppressing event.
    from subscriptions.services import subscriber_suppress, subscriber_unsubscribe

    if delivery is not None:
        rows = Delivery.objects.filter(pk=delivery.pk)
        if event.event_type == DELIVERED:
            # The first delivery report wins; a provider may report twice under different ids.
            rows.filter(delivered_at__isnull=True).update(delivered_at=event.occurred_at)
        elif event.event_type == OPENED:
            rows.update(opens=F("opens") + 1)
        elif event.event_type == CLICKED:
            rows.update(clicks=F("clicks") + 1)

    if subscriber is None:
        return
    if outcome == ProviderEvent.Outcome.SUPPRESSED:
        what = (
            "spam complaint" if event.event_type == COMPLAINED else (event.reject_reason or event.event_type)
        )
        subscriber_suppress(
            subscriber=subscriber, reason=f"{event.esp_name}: {event.event_type} ({what})"[:200]
        )
    elif outcome == ProviderEvent.Outcome.UNSUBSCRIBED:
        subscriber_unsubscribe(
            subscriber=subscriber, reason=f"{event.esp_name}: unsubscribed at the provider"
        )
