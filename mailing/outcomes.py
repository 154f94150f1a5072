"""What a provider's answer, or an exception raised while sending, says about the message it concerned.

The rule, for every sender (the digest pipeline, newsletter.sending; the subscription emails,
subscriptions.tasks):

- SENT       the provider took the message.
- TRANSIENT  provably not sent: the connection could not be made, the provider is down or overloaded
             (5xx, 429), our credentials were refused (401, 403: nobody's fault but ours, and fixable),
             a server's 4xx SMTP answer, a per-message "failed" in a batch answer. Send again later,
             with backoff, no sooner than the provider asked (`retry_after`).
- UNKNOWN    maybe sent: a timeout after the request went out, a connection lost mid-message, anything
             not understood. Never sent again by itself: a digest row becomes `unknown` for a person to
             decide; a single transactional email is not retried and the failure is logged (a second
             copy of a link is worse than asking for one again).
- PERMANENT  this message will never be accepted: any other 4xx, an SMTP 5xx for the message or the
             sender, an error raised before any request. Give up.
- REJECTED   the address will never accept mail: recipients refused with a 5xx, an invalid address.
             Give up; the digest pipeline also suppresses the subscriber. (A batch call refused as a
             whole is PERMANENT for its messages: the reason is the call's, not each address's.)
"""

from __future__ import annotations

import email.utils
import smtplib
import socket
from enum import StrEnum

import requests
from anymail.exceptions import (
    AnymailAPIError,
    AnymailError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
    AnymailRequestsAPIError,
)
from django.utils import timezone

MAX_ERROR_CHARS = 2000


class Outcome(StrEnum):
    SENT = "sent"
    PERMANENT = "permanent"  # this message will never be accepted: give up
    REJECTED = "rejected"  # the address will never accept mail: give up (and suppress it)
    TRANSIENT = "transient"  # not sent: try again later
    UNKNOWN = "unknown"  # maybe sent: never again by itself


def retry_after(exc: BaseException) -> float | None:
    """The seconds the provider asked to wait (its Retry-After), if it said."""
    response = getattr(exc, "response", None)
    value = getattr(response, "headers", {}).get("Retry-After") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - timezone.now()).total_seconds())


def classify(exc: BaseException) -> Outcome:
    """What an exception raised while sending says about the message(s) it concerned."""
    if isinstance(exc, AnymailRecipientsRefused | AnymailInvalidAddress):
        return Outcome.REJECTED
    if isinstance(exc, AnymailRequestsAPIError) and exc.status_code is None:
        cause = exc.__cause__
        # The request never reached the provider: safe to try again. A read timeout or a dropped
        # answer may come after the provider accepted the message: unknown.
        if isinstance(cause, requests.ConnectTimeout):
            return Outcome.TRANSIENT
        if isinstance(cause, requests.ConnectionError) and not isinstance(cause, requests.ReadTimeout):
            text = str(cause).lower()
            if "refused" in text or "name or service" in text or "failed to establish" in text:
                return Outcome.TRANSIENT
        return Outcome.UNKNOWN
    if isinstance(exc, AnymailAPIError) and exc.status_code is not None:
        # A provider's HTTP answer means the same whichever client the backend called it with.
        status = exc.status_code
        if status == 429 or status >= 500 or status in (401, 403):
            # Overloaded, down, or our credentials are wrong: nothing was sent and nothing is the
            # recipient's fault; try again until it works.
            return Outcome.TRANSIENT
        return Outcome.PERMANENT
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return Outcome.REJECTED if codes and all(500 <= c < 600 for c in codes) else Outcome.TRANSIENT
    if isinstance(exc, smtplib.SMTPResponseException):  # sender refused, data refused, …
        return Outcome.PERMANENT if 500 <= exc.smtp_code < 600 else Outcome.TRANSIENT
    if isinstance(exc, smtplib.SMTPServerDisconnected | socket.timeout | TimeoutError):
        return Outcome.UNKNOWN
    if isinstance(exc, smtplib.SMTPConnectError | ConnectionRefusedError | socket.gaierror):
        return Outcome.TRANSIENT
    if isinstance(exc, AnymailError):
        return Outcome.PERMANENT  # unsupported feature, serialisation: raised before any request
    return Outcome.UNKNOWN


def describe(exc: BaseException) -> str:
    """The exception as an error text: its type and message, bounded. Provider and server text may
    hold what a database column cannot (JSON's "\u0000", "\ud800"): whoever stores it makes it
    storable (newsletter.delivery_rows, with papers.text.storable)."""
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]


def message_outcome(message) -> tuple[Outcome, str, str]:
    """Outcome, provider message id and error of a message the backend handled without raising."""
    status = getattr(message, "anymail_status", None)
    if status is None or status.status is None:
        # SMTP and other plain Django backends: no exception means the server took it.
        return Outcome.SENT, message.extra_headers.get("Message-ID", ""), ""
    statuses = status.status
    if statuses & {"sent", "queued"} or statuses == {"unknown"}:
        message_id = status.message_id if isinstance(status.message_id, str) else ""
        return Outcome.SENT, message_id or "", ""
    item = getattr(status, "esp_response_item", None) or {}
    detail = f"{sorted(statuses)} {item.get('ErrorCode', '')} {item.get('Message', '')}".strip()
    if statuses & {"rejected", "invalid"}:
        return Outcome.REJECTED, "", f"provider refused the recipient: {detail}"[:MAX_ERROR_CHARS]
    return Outcome.TRANSIENT, "", f"provider did not accept the message: {detail}"[:MAX_ERROR_CHARS]
