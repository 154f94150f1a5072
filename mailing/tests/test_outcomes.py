"""mailing.outcomes: what each failure means, and that every sender acts on it the same way."""

import logging
import smtplib
import socket
from datetime import timedelta
from email.utils import format_datetime

import pytest
import requests
from anymail.exceptions import (
    AnymailAPIError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
    AnymailRequestsAPIError,
    AnymailUnsupportedFeature,
)
from anymail.message import AnymailMessage, AnymailRecipientStatus, AnymailStatus
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from mailing.outcomes import MAX_ERROR_CHARS, Outcome, classify, describe, message_outcome, retry_after
from newsletter.models import Delivery
from newsletter.selectors import forget_pool
from newsletter.sending import deliveries_send_chunk
from newsletter.tests.digest_data import paper, subscriber, topics
from subscriptions.tasks import send_manage_link_email
from subscriptions.tests.factories import SubscriberFactory


def _response(status: int, headers: dict | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    return response


def http_error(status: int, headers: dict | None = None) -> AnymailRequestsAPIError:
    return AnymailRequestsAPIError("provider said no", response=_response(status, headers))


def api_error(status: int) -> AnymailAPIError:
    """An HTTP answer as a backend using another client than requests would report it."""
    return AnymailAPIError("provider said no", status_code=status, response=_response(status))


def without_answer(cause: Exception | None) -> AnymailRequestsAPIError:
    """The API call failed before the provider answered, for `cause` (as anymail raises it)."""
    error = AnymailRequestsAPIError("no answer")
    error.__cause__ = cause
    return error


CLASSIFIED = [
    # Refused addresses
    (AnymailRecipientsRefused(), Outcome.REJECTED),
    (AnymailInvalidAddress("not an address"), Outcome.REJECTED),
    (smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"no such user")}), Outcome.REJECTED),
    (smtplib.SMTPRecipientsRefused({"a@example.com": (450, b"mailbox busy")}), Outcome.TRANSIENT),
    (smtplib.SMTPRecipientsRefused({"a@x.org": (550, b"no"), "b@x.org": (451, b"later")}), Outcome.TRANSIENT),
    # A provider's HTTP answer
    (http_error(503), Outcome.TRANSIENT),
    (http_error(429, {"Retry-After": "7"}), Outcome.TRANSIENT),
    (http_error(401), Outcome.TRANSIENT),  # our credentials: nobody else's fault, and fixable
    (http_error(403), Outcome.TRANSIENT),
    (http_error(422), Outcome.PERMANENT),
    (http_error(400), Outcome.PERMANENT),
    (api_error(503), Outcome.TRANSIENT),
    (api_error(422), Outcome.PERMANENT),
    (AnymailAPIError("no status (a client library's error)"), Outcome.PERMANENT),
    # No answer from the provider: before the request went out, or maybe after
    (without_answer(requests.ConnectTimeout("connect timeout")), Outcome.TRANSIENT),
    (without_answer(requests.ConnectionError("[Errno 111] Connection refused")), Outcome.TRANSIENT),
    (without_answer(requests.ConnectionError("Failed to establish a new connection")), Outcome.TRANSIENT),
    (without_answer(requests.ReadTimeout("read timed out")), Outcome.UNKNOWN),
    (without_answer(requests.ConnectionError("Connection aborted: RemoteDisconnected")), Outcome.UNKNOWN),
    (without_answer(None), Outcome.UNKNOWN),
    # SMTP
    (smtplib.SMTPResponseException(421, b"try later"), Outcome.TRANSIENT),
    (smtplib.SMTPResponseException(554, b"rejected"), Outcome.PERMANENT),
    (smtplib.SMTPSenderRefused(550, b"sender refused", "from@example.com"), Outcome.PERMANENT),
    (smtplib.SMTPDataError(451, b"local error"), Outcome.TRANSIENT),
    (smtplib.SMTPServerDisconnected("gone mid-message"), Outcome.UNKNOWN),
    (TimeoutError(), Outcome.UNKNOWN),
    (ConnectionRefusedError(), Outcome.TRANSIENT),
    (socket.gaierror(-2, "Name or service not known"), Outcome.TRANSIENT),
    (ConnectionResetError(), Outcome.UNKNOWN),
    # Raised before any request, or not understood
    (AnymailUnsupportedFeature("no such feature"), Outcome.PERMANENT),
    (ValueError("a backend bug"), Outcome.UNKNOWN),
]


@pytest.mark.parametrize(("error", "outcome"), CLASSIFIED, ids=lambda v: type(v).__name__)
def test_each_failure_is_classified_by_what_it_says_about_the_message(error, outcome):
    assert classify(error) is outcome


def test_retry_after_takes_seconds_or_an_http_date_and_ignores_junk():
    assert retry_after(http_error(429, {"Retry-After": "7"})) == 7.0
    later = format_datetime(timezone.now() + timedelta(seconds=60), usegmt=True)
    assert 55 <= retry_after(http_error(429, {"Retry-After": later})) <= 61
    assert retry_after(http_error(429, {"Retry-After": "soon"})) is None
    assert retry_after(http_error(503)) is None
    assert retry_after(smtplib.SMTPServerDisconnected()) is None


def test_an_error_is_described_within_bounds_as_the_provider_wrote_it():
    # What a column cannot hold is the writer's to replace (newsletter.delivery_rows).
    text = describe(RuntimeError("no\x00pe \ud800" + "x" * 5000))
    assert text.startswith("RuntimeError: no\x00pe \ud800") and len(text) == MAX_ERROR_CHARS


def _answered(*statuses: str, item: dict | None = None) -> AnymailMessage:
    message = AnymailMessage(to=["a@example.com"])
    message.anymail_status = AnymailStatus()
    message.anymail_status.set_recipient_status(
        {f"r{n}@example.com": AnymailRecipientStatus("id\x00-1", status) for n, status in enumerate(statuses)}
    )
    message.anymail_status.esp_response_item = item
    return message


def test_a_message_the_backend_took_without_raising_is_judged_by_its_status():
    plain = EmailMessage(to=["a@example.com"], headers={"Message-ID": "<m@example.com>"})
    assert message_outcome(plain) == (Outcome.SENT, "<m@example.com>", "")
    assert message_outcome(_answered("queued")) == (Outcome.SENT, "id\x00-1", "")
    outcome, _, error = message_outcome(_answered("rejected", item={"ErrorCode": 406, "Message": "inactive"}))
    assert outcome is Outcome.REJECTED and "406 inactive" in error
    assert message_outcome(_answered("failed"))[0] is Outcome.TRANSIENT


# --- Every sender follows the rule -----------------------------------------------------------------


class RaisingBackend(BaseEmailBackend):
    """Raises `error` for every message; counts the attempts."""

    error: Exception = RuntimeError("set by the test")
    attempts = 0

    def send_messages(self, messages):
        RaisingBackend.attempts += 1
        raise RaisingBackend.error


# What a digest row becomes, and what a subscription email's task does, for each outcome.
DIGEST_ROW = {
    Outcome.TRANSIENT: "planned",
    Outcome.UNKNOWN: "unknown",
    Outcome.PERMANENT: "failed",
    Outcome.REJECTED: "failed",
}
EMAIL_TASK = {
    Outcome.TRANSIENT: "retried",
    Outcome.UNKNOWN: "logged, not retried",
    Outcome.PERMANENT: "given up",
    Outcome.REJECTED: "given up",
}


@pytest.fixture
def raising(settings):
    settings.EMAIL_BACKEND = f"{__name__}.RaisingBackend"
    RaisingBackend.attempts = 0
    forget_pool()
    yield RaisingBackend
    forget_pool()


def _digest_row_after(error) -> str:
    quant, _code, _agents = topics()
    paper((quant, 1.0))
    row = Delivery.objects.create(
        subscriber=subscriber(quant, email="digest@example.com"), edition_date="2026-04-28"
    )
    RaisingBackend.error = error
    deliveries_send_chunk(delivery_ids=[row.pk])
    row.refresh_from_db()
    return row.status


def _email_task_after(error, caplog) -> str:
    RaisingBackend.error, RaisingBackend.attempts = error, 0
    caplog.set_level(logging.ERROR, logger="subscriptions.tasks")
    run = send_manage_link_email.apply(args=[SubscriberFactory(email="link@example.com").pk])
    if RaisingBackend.attempts > 1 and run.failed():
        return "retried"
    if (
        RaisingBackend.attempts == 1
        and run.successful()
        and run.result is False
        and "not retried" in caplog.text
    ):
        return "logged, not retried"
    if RaisingBackend.attempts == 1 and run.failed() and run.result is error:
        return "given up"
    return f"unexpected: {RaisingBackend.attempts} attempts, {run.state} {run.result!r}"


@pytest.mark.parametrize(("error", "outcome"), CLASSIFIED, ids=lambda v: type(v).__name__)
@pytest.mark.django_db
def test_the_digest_pipeline_and_the_subscription_emails_act_alike_on_each_failure(
    raising, caplog, error, outcome
):
    assert (_digest_row_after(error), _email_task_after(error, caplog)) == (
        DIGEST_ROW[outcome],
        EMAIL_TASK[outcome],
    )
