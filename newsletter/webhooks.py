"""Provider tracking webhooks: anymail's views behind a basic-auth gate, and the receiver of their events.

Every ESP's tracking URL is the one anymail documents, under /webhooks/anymail/ (for example
/webhooks/anymail/postmark/tracking/). In front of anymail's own checks:
- WEBHOOK_SECRET unset: every POST is refused (403). anymail alone would accept anyone's events,
  and a forged "bounce" would suppress a real reader.
- Missing or wrong basic auth: 401 with a Basic challenge (some ESPs only send credentials after one).
- A body the ESP parser cannot read: 400, nothing recorded (anymail alone answers 500 and invites
  retries of a payload that will never parse).
- A signing key the ESP's webhook needs is not set: 503 and one log line naming the setting (anymail
  alone answers 500 with a trace); the provider retries until it is set.
The receiver only validates and trims each event, then hands it to newsletter.events.
"""

import hashlib
import json
import logging
from datetime import UTC, datetime
from functools import wraps

from anymail import urls as anymail_urls
from anymail.exceptions import AnymailConfigurationError
from anymail.signals import AnymailTrackingEvent, tracking
from anymail.utils import get_anymail_setting, get_request_basic_auth
from django.core.exceptions import SuspiciousOperation
from django.dispatch import receiver
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt

from papers.text import storable

from . import events

logger = logging.getLogger(__name__)

_EVENT_ID_MAX = 200  # ProviderEvent.event_id max_length
_URL_MAX = 2000  # ProviderEvent.url max_length


class MalformedWebhook(SuspiciousOperation):
    """The body is not what this ESP sends; Django answers 400 for SuspiciousOperation."""


class _MalformedIsBadRequest:
    """Turns a parser crash on a hostile or truncated body into a 400 instead of a 500."""

    def validate_request(self, request):
        # Signature checks parse the body too (Mailgun's and Unisender Go's take a JSON array
        # for an object and crash); a missing signing key still raises AnymailConfigurationError.
        try:
            return super().validate_request(request)
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            raise MalformedWebhook(f"Unreadable {self.esp_name} webhook body: {type(exc).__name__}") from exc

    def parse_events(self, request):
        try:
            return super().parse_events(request)
        except (
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            IndexError,
            AnymailConfigurationError,
        ) as exc:
            raise MalformedWebhook(f"Unreadable {self.esp_name} webhook body: {type(exc).__name__}") from exc


def webhook_secrets() -> list[str]:
    """The accepted "user:password" strings (WEBHOOK_SECRET, shared by every ESP's webhook)."""
    secrets = get_anymail_setting("webhook_secret", default=[])
    if isinstance(secrets, str):
        secrets = [secrets] if secrets else []
    return [secret for secret in secrets if secret]


def _unless_unconfigured(view):
    """A provider whose webhook needs a signing key that is not set (Mailgun, Postal, Mandrill):
    anymail raises AnymailConfigurationError on every request, a 500 with a trace each time. Answer
    503 instead with one log line naming the setting: providers retry 5xx answers, so the events
    arrive once the key is there (`manage.py check` warns about it too: newsletter.checks)."""

    @wraps(view)
    def checked(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except AnymailConfigurationError as exc:
            logger.error("Refused a provider webhook at %s: %s", request.path, exc)
            return HttpResponse(
                "This provider's webhook is not configured yet; see the server log.\n",
                status=503,
                content_type="text/plain",
            )

    return checked


def _require_basic_auth(view):
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if request.method != "POST":  # HEAD answers ESP URL checks; nothing else changes state
            return view(request, *args, **kwargs)
        allowed = webhook_secrets()
        if not allowed:
            logger.warning("Refused a provider webhook: WEBHOOK_SECRET is not set")
            return HttpResponse(
                "Webhooks are off until WEBHOOK_SECRET is set.\n", status=403, content_type="text/plain"
            )
        given = get_request_basic_auth(request) or ""
        # any() may stop early: that reveals how many secrets there are, never their contents.
        if not any(constant_time_compare(given, secret) for secret in allowed):
            response = HttpResponse("Authentication required.\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Basic realm="webhooks", charset="UTF-8"'
            return response
        return view(request, *args, **kwargs)

    return csrf_exempt(guarded)


def _tracking_urlpatterns() -> list:
    patterns = []
    for pattern in anymail_urls.urlpatterns:
        if not pattern.name.endswith("_tracking_webhook"):
            continue  # inbound mail is not something Paperboy receives
        view_class = pattern.callback.view_class
        strict_class = type(view_class.__name__, (_MalformedIsBadRequest, view_class), {})
        view = _require_basic_auth(_unless_unconfigured(strict_class.as_view()))
        patterns.append(path(str(pattern.pattern), view, name=pattern.name))
    return patterns


app_name = "anymail"
urlpatterns = _tracking_urlpatterns()


# --- Receiving ---------------------------------------------------------------------------------


def _text(value, limit: int) -> str:
    # Postgres text cannot hold NUL nor a lone surrogate (JSON's "\ud800" decodes to one): the whole
    # event would be refused and the provider retry it without end. No id, address or link of ours
    # contains control characters.
    return storable(value, one_line=True)[:limit] if isinstance(value, str) else ""


def _event_id(event: AnymailTrackingEvent, esp_name: str) -> str:
    given = _text(str(event.event_id), _EVENT_ID_MAX) if isinstance(event.event_id, str | int) else ""
    if given:
        key = f"{esp_name}:{event.event_type}:{given}"
    else:
        # Some ESPs give no id for opens, clicks or deliveries (Postmark): a retried webhook repeats
        # the same body, so a digest of the body is the id.
        body = json.dumps(event.esp_event, sort_keys=True, default=str)
        key = f"{esp_name}:{event.event_type}:sha256:{hashlib.sha256(body.encode()).hexdigest()}"
    if len(key) > _EVENT_ID_MAX:
        key = f"{esp_name[:40]}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"
    return key


def _occurred_at(value) -> datetime:
    if not isinstance(value, datetime):
        return timezone.now()
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)


def _delivery_id(metadata) -> int | None:
    value = metadata.get("delivery_id") if isinstance(metadata, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        return int(value)
    return None


def _is_hard_bounce(event: AnymailTrackingEvent, esp_name: str) -> bool:
    if esp_name == "Postmark":
        # anymail maps Postmark's SoftBounce to "bounced" as well; only the Type tells them apart.
        esp_event = event.esp_event if isinstance(event.esp_event, dict) else {}
        return esp_event.get("Type") == "HardBounce"
    # Other ESPs report temporary failures as "deferred"; a "bounced" is permanent unless the
    # provider could not say why.
    return event.reject_reason != "other"


def tracking_event_from_anymail(event: AnymailTrackingEvent, esp_name: str) -> events.TrackingEvent | None:
    """Our validated view of an anymail event; None for event types we do not act on."""
    event_type = event.event_type
    if not isinstance(event_type, str) or event_type not in events.HANDLED_TYPES:
        return None
    esp_name = _text(esp_name, 50) or "unknown"
    url = _text(event.click_url, _URL_MAX)
    if not url.lower().startswith(("http://", "https://")):
        url = ""
    return events.TrackingEvent(
        event_id=_event_id(event, esp_name),
        esp_name=esp_name,
        event_type=event_type,
        occurred_at=_occurred_at(event.timestamp),
        message_id=_text(event.message_id, 200),
        delivery_id=_delivery_id(event.metadata),
        recipient=_text(event.recipient, 254).strip(),
        url=url,
        reject_reason=_text(event.reject_reason, 50),
        permanent=event_type == events.BOUNCED and _is_hard_bounce(event, esp_name),
    )


@receiver(tracking, dispatch_uid="paperboy.newsletter.tracking")
def on_tracking_event(sender, event, esp_name, **kwargs) -> None:
    tracked = tracking_event_from_anymail(event, esp_name)
    if tracked is not None:
        events.provider_event_record(event=tracked)
