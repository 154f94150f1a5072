"""Retry policy of the mail tasks, which is mailing.outcomes' rule: a failure that provably sent nothing
is retried with backoff, one that may have sent the email is logged and not retried, and one that will
never be accepted gives up."""

import logging
import smtplib

import pytest
from anymail.exceptions import AnymailAPIError
from django.core.mail.backends.base import BaseEmailBackend

from subscriptions.models import ConsentRecord, Subscriber
from subscriptions.tasks import _MAX_RETRIES, send_confirmation_email, send_manage_link_email
from subscriptions.tests.factories import SubscriberFactory

RETRIED, LOGGED, GIVEN_UP = "retried", "logged, not retried", "given up"


class FailingBackend(BaseEmailBackend):
    """Raises `error` for every message; counts the attempts."""

    error: Exception = RuntimeError("set by the test")
    attempts = 0

    def send_messages(self, messages):
        FailingBackend.attempts += 1
        raise FailingBackend.error


@pytest.fixture
def failing(settings):
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    FailingBackend.attempts = 0
    return FailingBackend


@pytest.mark.parametrize(
    ("error", "action"),
    [
        (smtplib.SMTPServerDisconnected("gone"), LOGGED),  # the server may have taken the message
        (smtplib.SMTPResponseException(421, b"try later"), RETRIED),
        (smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"no such user")}), GIVEN_UP),
        (smtplib.SMTPResponseException(554, b"rejected"), GIVEN_UP),
        (ConnectionRefusedError(), RETRIED),
        (TimeoutError(), LOGGED),
        (AnymailAPIError("server error", status_code=503), RETRIED),
        (AnymailAPIError("slow down", status_code=429), RETRIED),
        (AnymailAPIError("wrong server token", status_code=401), RETRIED),
        (AnymailAPIError("bad request", status_code=422), GIVEN_UP),
        (ValueError("a backend bug"), LOGGED),
    ],
)
@pytest.mark.parametrize("task", ["confirmation", "manage link"])
@pytest.mark.django_db
def test_only_failures_that_sent_nothing_are_retried(failing, caplog, task, error, action):
    failing.error = error
    caplog.set_level(logging.ERROR, logger="subscriptions.tasks")
    if task == "confirmation":
        subscriber = SubscriberFactory(status=Subscriber.Status.PENDING, confirmed_at=None)
        consent = ConsentRecord.objects.create(subscriber=subscriber, form_version="t", topics=[])
        run = send_confirmation_email.apply(args=[consent.pk])
    else:
        run = send_manage_link_email.apply(args=[SubscriberFactory().pk])
    if action == RETRIED:
        assert failing.attempts == 1 + _MAX_RETRIES
        assert run.failed() and run.result is error
    elif action == LOGGED:
        assert failing.attempts == 1 and run.get() is False
        assert "not retried" in caplog.text
    else:
        assert failing.attempts == 1
        assert run.failed() and run.result is error
