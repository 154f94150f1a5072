"""Celery tasks of subscriptions (queue "mail"): thin adapters that load by id and send or call a service.

Only ids cross the broker. A task re-checks the row, so a message delivered late or twice sends
nothing that is no longer wanted. A failed send follows mailing.outcomes' rule: provably not sent
(connection refused, SMTP 4xx, provider 5xx/429/401/403) is retried with backoff; maybe sent (a
timeout or a connection lost mid-message) is logged and not retried; refused for good gives up.

subscriptions.services queue these tasks, so the tasks never import the services (the purge is
subscriptions.retention's).
"""

import logging

from celery import shared_task
from django.utils import timezone

from mailing.outcomes import Outcome, classify, describe

from . import emails
from .models import ConsentRecord, Subscriber
from .retention import subscribers_purge_unconfirmed

logger = logging.getLogger(__name__)

_MAX_RETRIES = 5


def _send(task, message, *, what: str) -> bool:
    """Send one email: True when the provider took it, False when it may have (logged, not retried).

    Raises task.retry() for a failure that provably sent nothing (until retries run out), and the
    exception itself for one that never will be accepted."""
    try:
        message.send()
    except Exception as exc:
        outcome = classify(exc)
        if outcome is Outcome.TRANSIENT and task.request.retries < _MAX_RETRIES:
            raise task.retry(exc=exc, countdown=30 * 2**task.request.retries) from exc
        if outcome is Outcome.UNKNOWN:
            logger.error("%s may or may not have been sent; not retried: %s", what, describe(exc))
            return False
        raise
    return True


@shared_task(bind=True, max_retries=_MAX_RETRIES)
def send_confirmation_email(self, consent_id: int) -> bool:
    """Email the confirmation link of one signup, unless it no longer needs confirming."""
    consent = ConsentRecord.objects.select_related("subscriber").filter(pk=consent_id).first()
    if consent is None or consent.subscriber is None or consent.confirmed_at is not None:
        return False
    if consent.subscriber.status in (Subscriber.Status.ACTIVE, Subscriber.Status.SUPPRESSED):
        return False
    if not _send(
        self,
        emails.confirmation_message(consent),
        what=f"confirmation email for subscriber {consent.subscriber_id}",
    ):
        return False
    logger.info("confirmation email sent for subscriber %s", consent.subscriber_id)
    return True


@shared_task(bind=True, max_retries=_MAX_RETRIES)
def send_manage_link_email(self, subscriber_id: int) -> bool:
    """Email a subscriber their manage link (they signed up again while active, or revoked links)."""
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None or subscriber.status == Subscriber.Status.SUPPRESSED:
        return False
    if not _send(
        self, emails.manage_link_message(subscriber), what=f"manage-link email for subscriber {subscriber.pk}"
    ):
        return False
    logger.info("manage-link email sent for subscriber %s", subscriber.pk)
    return True


@shared_task(bind=True, max_retries=_MAX_RETRIES)
def send_welcome_email(self, subscriber_id: int) -> bool:
    """Welcome a reader who just confirmed: their choices, their first digest's time, their manage link."""
    subscriber = Subscriber.objects.filter(pk=subscriber_id, status=Subscriber.Status.ACTIVE).first()
    if subscriber is None:  # unsubscribed, suppressed or erased since
        return False
    message = emails.welcome_message(subscriber, now=timezone.now())
    if not _send(self, message, what=f"welcome email for subscriber {subscriber.pk}"):
        return False
    logger.info("welcome email sent for subscriber %s", subscriber.pk)
    return True


@shared_task
def purge_unconfirmed_subscribers() -> int:
    """Delete signups never confirmed in time (beat runs this a few times a day)."""
    deleted = subscribers_purge_unconfirmed()
    logger.info("purged %s unconfirmed signups", deleted)
    return deleted
