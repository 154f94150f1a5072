"""Celery tasks of subscriptions (queue "mail"): thin adapters that load by id and send or call a service.

Only ids cross the broker. A task re-checks the row, so a message delivered late or twice sends
nothing that is no longer wanted. Retries only for transient mail errors (connection trouble, SMTP
4xx, provider 5xx/429), with backoff.
"""

import logging
import smtplib

from anymail.exceptions import AnymailAPIError
from celery import shared_task

from . import emails, services
from .models import ConsentRecord, Subscriber

logger = logging.getLogger(__name__)

_MAX_RETRIES = 5
_TRANSIENT_CONNECTION_ERRORS = (
    smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError, TimeoutError,
)  # fmt: skip


def _is_transient(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, _TRANSIENT_CONNECTION_ERRORS):
        return True
    if isinstance(exc, AnymailAPIError):
        status = getattr(exc, "status_code", None)
        return status is None or status == 429 or status >= 500
    return False


def _send(task, message) -> None:
    try:
        message.send()
    except Exception as exc:
        if _is_transient(exc) and task.request.retries < _MAX_RETRIES:
            raise task.retry(exc=exc, countdown=30 * 2**task.request.retries) from exc
        raise


@shared_task(bind=True, max_retries=_MAX_RETRIES)
def send_confirmation_email(self, consent_id: int) -> bool:
    """Email the confirmation link of one signup, unless it no longer needs confirming."""
    consent = ConsentRecord.objects.select_related("subscriber").filter(pk=consent_id).first()
    if consent is None or consent.subscriber is None or consent.confirmed_at is not None:
        return False
    if consent.subscriber.status in (Subscriber.Status.ACTIVE, Subscriber.Status.SUPPRESSED):
        return False
    _send(self, emails.confirmation_message(consent))
    logger.info("confirmation email sent for subscriber %s", consent.subscriber_id)
    return True


@shared_task(bind=True, max_retries=_MAX_RETRIES)
def send_manage_link_email(self, subscriber_id: int) -> bool:
    """Email a subscriber their manage link (they signed up again while active, or revoked links)."""
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None or subscriber.status == Subscriber.Status.SUPPRESSED:
        return False
    _send(self, emails.manage_link_message(subscriber))
    logger.info("manage-link email sent for subscriber %s", subscriber.pk)
    return True


@shared_task
def purge_unconfirmed_subscribers() -> int:
    """Delete signups never confirmed in time (beat runs this a few times a day)."""
    deleted = services.subscribers_purge_unconfirmed()
    logger.info("purged %s unconfirmed signups", deleted)
    return deleted
