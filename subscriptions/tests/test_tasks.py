"""Retry policy of the mail tasks: transient failures retry, permanent ones do not."""

import smtplib

import pytest
from anymail.exceptions import AnymailAPIError

from subscriptions.tasks import _is_transient


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (smtplib.SMTPServerDisconnected("gone"), True),
        (smtplib.SMTPResponseException(421, b"try later"), True),
        (smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"no such user")}), False),
        (smtplib.SMTPResponseException(554, b"rejected"), False),
        (ConnectionRefusedError(), True),
        (TimeoutError(), True),
        (AnymailAPIError("server error", status_code=503), True),
        (AnymailAPIError("slow down", status_code=429), True),
        (AnymailAPIError("bad request", status_code=422), False),
        (ValueError("template bug"), False),
    ],
)
def test_only_named_transient_errors_are_retried(error, transient):
    assert _is_transient(error) is transient
