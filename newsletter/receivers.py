"""The newsletter's part of a subscriber's personal data: their deliveries and provider events.

Connected to subscriptions.signals in NewsletterConfig.ready (subscriptions never imports newsletter).
"""

from django.dispatch import receiver

from subscriptions.signals import personal_data_erasing, personal_data_exporting

from .models import Delivery, ProviderEvent


def _iso(value) -> str | None:
    return value.isoformat() if value else None


@receiver(personal_data_exporting, dispatch_uid="paperboy.newsletter.export_deliveries")
def export_deliveries(sender, subscriber, **kwargs):
    deliveries = Delivery.objects.filter(subscriber=subscriber).order_by("edition_date", "pk")
    events = ProviderEvent.objects.filter(delivery__subscriber=subscriber).order_by("occurred_at", "pk")
    events_by_delivery: dict[int, list[dict]] = {}
    for event in events:
        events_by_delivery.setdefault(event.delivery_id, []).append(
            {
                "type": event.event_type,
                "occurred_at": _iso(event.occurred_at),
                "provider": event.esp_name,
                "url": event.url,
            }
        )
    return "deliveries", [
        {
            "edition_date": delivery.edition_date.isoformat(),
            "status": delivery.status,
            "subject": delivery.subject,
            "paper_ids": delivery.paper_ids,
            "sent_at": _iso(delivery.sent_at),
            "delivered_at": _iso(delivery.delivered_at),
            "opens": delivery.opens,
            "clicks": delivery.clicks,
            "provider_events": events_by_delivery.get(delivery.pk, []),
        }
        for delivery in deliveries
    ]


@receiver(personal_data_erasing, dispatch_uid="paperboy.newsletter.erase_deliveries")
def erase_deliveries(sender, subscriber, **kwargs) -> None:
    """Unlink and scrub: the date, status and papers stay as anonymous counts (archive, dashboard)."""
    deliveries = Delivery.objects.filter(subscriber=subscriber)
    # The provider's message id leads to the address in the provider's logs; errors may quote it.
    ProviderEvent.objects.filter(delivery__in=deliveries).update(message_id="")
    deliveries.update(subscriber=None, subject="", provider_message_id="", last_error="", claim_token="")
