"""Provider events arrive as real Postmark webhook JSON through anymail's tracking view."""

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from newsletter.models import Delivery, ProviderEvent
from newsletter.sending import deliveries_send
from papers.tests.factories import PaperFactory, PaperTopicFactory, TopicFactory
from subscriptions.models import Subscriber
from subscriptions.tests.factories import SubscriberFactory
from testsupport.http import Response

pytestmark = pytest.mark.django_db

URL = "/webhooks/anymail/postmark/tracking/"
SECRET = "hook-user:s3cret-Pa55word"


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": SECRET}


def _auth(secret: str = SECRET) -> dict:
    return {"authorization": "Basic " + base64.b64encode(secret.encode()).decode()}


def post(client, payload, *, secret: str | None = SECRET):
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    headers = _auth(secret) if secret is not None else {}
    return client.post(URL, data=body, content_type="application/json", headers=headers)


@pytest.fixture
def delivery():
    subscriber = SubscriberFactory(email="reader@example.com")
    return Delivery.objects.create(
        subscriber=subscriber,
        edition_date="2026-04-28",
        status=Delivery.Status.SENT,
        paper_ids=[],
        provider_message_id=str(uuid.uuid4()),
    )


# Bodies as Postmark sends them (https://postmarkapp.com/developer/webhooks/webhooks-overview).
def hard_bounce(delivery, *, bounce_id=4323372036854775807, kind="HardBounce"):
    return {
        "RecordType": "Bounce",
        "MessageStream": "outbound",
        "ID": bounce_id,
        "Type": kind,
        "TypeCode": 1 if kind == "HardBounce" else 4096,
        "Name": "Hard bounce" if kind == "HardBounce" else "Soft bounce",
        "Tag": "digest",
        "MessageID": delivery.provider_message_id,
        "Metadata": {"delivery_id": str(delivery.pk)},
        "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": delivery.subscriber.email,
        "From": "digest@paperboy.localhost",
        "BouncedAt": "2026-04-28T07:01:54.9070259Z",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "7 new papers on Quantization",
        "Content": "<Full dump of bounce>",
    }


def spam_complaint(delivery):
    return {
        "RecordType": "SpamComplaint",
        "MessageStream": "outbound",
        "ID": 42,
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "Name": "Spam complaint",
        "Tag": "digest",
        "MessageID": delivery.provider_message_id,
        "Metadata": {"delivery_id": str(delivery.pk)},
        "ServerID": 1234,
        "Description": "",
        "Details": "Test spam complaint details",
        "Email": delivery.subscriber.email,
        "From": "digest@paperboy.localhost",
        "BouncedAt": "2026-04-28T09:33:54.9070259Z",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": False,
        "Subject": "7 new papers on Quantization",
        "Content": "<Abuse report dump>",
    }


def delivered(delivery):
    return {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "outbound",
        "MessageID": delivery.provider_message_id,
        "Recipient": delivery.subscriber.email,
        "Tag": "digest",
        "DeliveredAt": "2026-04-28T07:00:12.9070259Z",
        "Details": "smtp;250 2.0.0 OK",
        "Metadata": {"delivery_id": str(delivery.pk)},
    }


def opened(delivery, *, at="2026-04-28T08:15:02.0000000Z"):
    return {
        "RecordType": "Open",
        "MessageStream": "outbound",
        "FirstOpen": True,
        "Client": {"Name": "Chrome 35.0.1916.153", "Company": "Google", "Family": "Chrome"},
        "OS": {"Name": "OS X 10.7 Lion", "Company": "Apple Computer, Inc.", "Family": "OS X 10"},
        "Platform": "WebMail",
        "UserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_7_5)",
        "ReadSeconds": 5,
        "Geo": {"CountryISOCode": "RS", "Country": "Serbia", "City": "Novi Sad"},
        "MessageID": delivery.provider_message_id,
        "Metadata": {"delivery_id": str(delivery.pk)},
        "ReceivedAt": at,
        "Tag": "digest",
        "Recipient": delivery.subscriber.email,
    }


def clicked(delivery, link="https://arxiv.org/abs/2604.01234"):
    return {
        "RecordType": "Click",
        "MessageStream": "outbound",
        "ClickLocation": "HTML",
        "Client": {"Name": "Chrome 35.0.1916.153", "Company": "Google", "Family": "Chrome"},
        "OS": {"Name": "OS X 10.7 Lion", "Company": "Apple Computer, Inc.", "Family": "OS X 10"},
        "Platform": "Desktop",
        "UserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_7_5)",
        "OriginalLink": link,
        "Geo": {"CountryISOCode": "RS", "Country": "Serbia", "City": "Novi Sad"},
        "MessageID": delivery.provider_message_id,
        "Metadata": {"delivery_id": str(delivery.pk)},
        "ReceivedAt": "2026-04-28T08:16:11.0000000Z",
        "Tag": "digest",
        "Recipient": delivery.subscriber.email,
    }


def subscription_change(delivery, *, suppress=True, reason="ManualSuppression"):
    return {
        "RecordType": "SubscriptionChange",
        "MessageID": delivery.provider_message_id,
        "ServerID": 23,
        "MessageStream": "outbound",
        "ChangedAt": "2026-04-28T10:53:34.416071Z",
        "Recipient": delivery.subscriber.email,
        "Origin": "Recipient",
        "SuppressSending": suppress,
        "SuppressionReason": reason if suppress else None,
        "Tag": "digest",
        "Metadata": {"delivery_id": str(delivery.pk)},
    }


def _status(subscriber) -> str:
    return Subscriber.objects.get(pk=subscriber.pk).status


# --- Authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "hook-user:wrong", "", "hook-user:s3cret-Pa55word "])
def test_webhook_without_the_right_basic_auth_is_refused_and_changes_nothing(client, delivery, secret):
    response = post(client, hard_bounce(delivery), secret=secret)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic ")
    assert _status(delivery.subscriber) == Subscriber.Status.ACTIVE
    assert not ProviderEvent.objects.exists()


def test_garbled_authorization_header_is_refused(client, delivery):
    for header in ("Basic", "Basic !!!not-base64!!!", "Bearer " + SECRET, "Basic " + "é" * 20):
        response = client.post(
            URL, data=json.dumps(hard_bounce(delivery)), content_type="application/json", authorization=header
        )
        assert response.status_code == 401
    assert _status(delivery.subscriber) == Subscriber.Status.ACTIVE


def test_webhooks_are_off_when_no_secret_is_set(client, delivery, settings):
    settings.ANYMAIL = {key: value for key, value in settings.ANYMAIL.items() if key != "WEBHOOK_SECRET"}
    response = post(client, hard_bounce(delivery), secret=SECRET)
    assert response.status_code == 403
    assert _status(delivery.subscriber) == Subscriber.Status.ACTIVE
    assert not ProviderEvent.objects.exists()


def test_every_esp_tracking_url_is_behind_the_gate(client):
    for esp in ("mailgun", "sendgrid", "amazon_ses", "brevo", "mailjet", "postal", "resend", "sparkpost"):
        assert (
            client.post(
                f"/webhooks/anymail/{esp}/tracking/", data="{}", content_type="application/json"
            ).status_code
            == 401
        )
    # Inbound mail is not something Paperboy receives.
    assert (
        client.post(
            "/webhooks/anymail/postmark/inbound/", data="{}", content_type="application/json"
        ).status_code
        == 404
    )


MAILGUN_URL = "/webhooks/anymail/mailgun/tracking/"


def mailgun_hard_bounce(delivery, *, signing_key: str) -> str:
    """A Mailgun "failed" (permanent) event, signed as Mailgun signs webhooks."""
    timestamp, token = str(int(time.time())), uuid.uuid4().hex
    signature = hmac.new(signing_key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return json.dumps(
        {
            "signature": {"timestamp": timestamp, "token": token, "signature": signature},
            "event-data": {
                "event": "failed",
                "severity": "permanent",
                "reason": "bounce",
                "id": "mailgun-event-1",
                "timestamp": time.time(),
                "recipient": "reader@example.com",
                "message": {"headers": {"message-id": delivery.provider_message_id}},
                "user-variables": {"delivery_id": str(delivery.pk)},
                "delivery-status": {"code": 550, "message": "5.1.1 No such user", "description": ""},
            },
        }
    )


def test_a_webhook_without_its_signing_key_answers_503_until_the_key_is_set(
    client, delivery, settings, caplog
):
    settings.ANYMAIL = {k: v for k, v in settings.ANYMAIL.items() if not k.startswith("MAILGUN_")}
    body = mailgun_hard_bounce(delivery, signing_key="mailgun-signing-key")
    response = client.post(MAILGUN_URL, data=body, content_type="application/json", headers=_auth())
    assert response.status_code == 503  # Mailgun retries: the event is not lost
    assert "ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY" in caplog.text
    assert client.head(MAILGUN_URL).status_code == 503
    assert not ProviderEvent.objects.exists()
    assert _status(delivery.subscriber) == Subscriber.Status.ACTIVE

    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_WEBHOOK_SIGNING_KEY": "mailgun-signing-key"}
    response = client.post(MAILGUN_URL, data=body, content_type="application/json", headers=_auth())
    assert response.status_code == 200
    assert _status(delivery.subscriber) == Subscriber.Status.SUPPRESSED


def test_get_is_not_allowed_and_head_answers_for_url_checks(client):
    assert client.get(URL).status_code == 405
    assert client.head(URL).status_code == 200


# --- What events do ----------------------------------------------------------------------------


def test_hard_bounce_suppresses_the_subscriber(client, delivery):
    response = post(client, hard_bounce(delivery))
    assert response.status_code == 200
    subscriber = Subscriber.objects.get(pk=delivery.subscriber.pk)
    assert subscriber.status == Subscriber.Status.SUPPRESSED
    assert "bounced" in subscriber.suppressed_reason
    event = ProviderEvent.objects.get()
    assert (event.event_type, event.outcome, event.delivery_id) == ("bounced", "suppressed", delivery.pk)
    assert event.esp_name == "Postmark"
    assert event.occurred_at.isoformat().startswith("2026-04-28T07:01:54")


def test_soft_bounce_is_noted_but_does_not_suppress(client, delivery):
    assert post(client, hard_bounce(delivery, kind="SoftBounce")).status_code == 200
    assert _status(delivery.subscriber) == Subscriber.Status.ACTIVE
    assert ProviderEvent.objects.get().outcome == ProviderEvent.Outcome.NOTED


def test_spam_complaint_suppresses_the_subscriber(client, delivery):
    assert post(client, spam_complaint(delivery)).status_code == 200
    assert _status(delivery.subscriber) == Subscriber.Status.SUPPRESSED
    assert ProviderEvent.objects.get().event_type == "complained"


def test_unsubscribe_at_the_provider_unsubscribes(client, delivery):
    assert post(client, subscription_change(delivery)).status_code == 200
    assert _status(delivery.subscriber) == Subscriber.Status.UNSUBSCRIBED


def test_reactivation_at_the_provider_changes_nothing(client, delivery):
    assert post(client, subscription_change(delivery, suppress=False)).status_code == 200
    assert _status(delivery.subscriber) == Subscriber.Status.ACTIVE
    assert not ProviderEvent.objects.exists()


def test_delivery_opens_and_clicks_are_counted_on_the_delivery(client, delivery):
    assert post(client, delivered(delivery)).status_code == 200
    assert post(client, opened(delivery, at="2026-04-28T08:15:02Z")).status_code == 200
    assert post(client, opened(delivery, at="2026-04-28T12:40:00Z")).status_code == 200
    assert post(client, clicked(delivery)).status_code == 200
    delivery.refresh_from_db()
    assert delivery.delivered_at.isoformat().startswith("2026-04-28T07:00:12")
    assert (delivery.opens, delivery.clicks) == (2, 1)
    assert ProviderEvent.objects.get(event_type="clicked").url == "https://arxiv.org/abs/2604.01234"
    assert _status(delivery.subscriber) == Subscriber.Status.ACTIVE


def test_replayed_events_are_processed_once(client, delivery):
    for _ in range(3):
        assert post(client, opened(delivery)).status_code == 200
        assert post(client, hard_bounce(delivery)).status_code == 200
    delivery.refresh_from_db()
    assert delivery.opens == 1
    assert ProviderEvent.objects.count() == 2


def test_control_characters_in_ids_never_reach_the_database(client, delivery):
    body = clicked(delivery, link="https://arxiv.org/abs/1\u0000\udc80") | {"ID": "a\u0000b\ud800"}
    body["MessageID"] = delivery.provider_message_id[:4] + "\u0000" + delivery.provider_message_id[4:]
    assert post(client, body).status_code == 200
    event = ProviderEvent.objects.get()
    stored = event.event_id + event.url + event.message_id
    assert "\x00" not in stored and not any("\ud800" <= c <= "\udfff" for c in stored)
    assert event.delivery == delivery


def test_click_on_a_script_url_is_counted_without_storing_the_url(client, delivery):
    assert post(client, clicked(delivery, link="javascript:alert(1)")).status_code == 200
    delivery.refresh_from_db()
    assert delivery.clicks == 1
    assert ProviderEvent.objects.get().url == ""


def test_bounce_of_a_mail_that_is_no_digest_suppresses_by_address(client, delivery):
    """A confirmation email has no Delivery; its hard bounce still means the address is dead."""
    other = SubscriberFactory(email="Someone.Else@Example.com", status=Subscriber.Status.PENDING)
    body = hard_bounce(delivery) | {
        "MessageID": str(uuid.uuid4()),
        "Metadata": {},
        "Email": "someone.else@example.com",
    }
    assert post(client, body).status_code == 200
    assert _status(other) == Subscriber.Status.SUPPRESSED
    assert _status(delivery.subscriber) == Subscriber.Status.ACTIVE
    assert ProviderEvent.objects.get().delivery is None


def test_event_naming_nothing_of_ours_is_not_stored(client, delivery):
    stranger = opened(delivery) | {
        "MessageID": str(uuid.uuid4()),
        "Metadata": {},
        "Recipient": "nobody@example.org",
    }
    assert post(client, stranger).status_code == 200
    assert not ProviderEvent.objects.exists()


def test_metadata_delivery_id_counts_only_when_the_recipient_matches(client, delivery):
    forged = opened(delivery) | {"MessageID": "", "Recipient": "attacker@example.org"}
    assert post(client, forged).status_code == 200
    delivery.refresh_from_db()
    assert delivery.opens == 0
    genuine = opened(delivery) | {"MessageID": ""}
    assert post(client, genuine).status_code == 200
    delivery.refresh_from_db()
    assert delivery.opens == 1


# --- Hostile bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        b"\xff\xfe\x00garbage",
        "[]",
        "42",
        '{"RecordType": "Bounce", "Type": ["HardBounce"]}',
        '{"RecordType": "Bounce", "BouncedAt": 17}',
        '{"Subject": "inbound?", "FromFull": {"Email": "a@b.c"}}',
    ],
)
def test_unreadable_body_with_valid_auth_is_a_400_and_changes_nothing(client, delivery, body):
    response = post(client, body)
    assert response.status_code == 400
    assert not ProviderEvent.objects.exists()
    assert _status(delivery.subscriber) == Subscriber.Status.ACTIVE


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=12,
)
_postmarkish = st.fixed_dictionaries(
    {},
    optional={
        "RecordType": st.sampled_from(
            ["Bounce", "SpamComplaint", "Delivery", "Open", "Click", "SubscriptionChange"]
        )
        | st.text(max_size=10),
        "Type": st.sampled_from(["HardBounce", "SoftBounce", "SpamComplaint", "Blocked"]) | _json,
        "ID": _json,
        "MessageID": _json,
        "Metadata": _json,
        "Email": st.emails() | _json,
        "Recipient": st.emails() | _json,
        "OriginalLink": _json,
        "SuppressSending": _json,
        "SuppressionReason": _json,
    },
)


@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=_postmarkish | _json, authenticated=st.booleans())
def test_fuzzed_webhook_bodies_never_error_and_touch_no_subscriber(client, delivery, body, authenticated):
    response = post(client, json.dumps(body), secret=SECRET if authenticated else None)
    assert response.status_code < 500
    if not authenticated:
        assert response.status_code == 401
    # Random bodies name no message, delivery or address of ours: nothing may change.
    assert not ProviderEvent.objects.exists()
    assert _status(delivery.subscriber) == Subscriber.Status.ACTIVE
    delivery.refresh_from_db()
    assert (delivery.opens, delivery.clicks, delivery.delivered_at) == (0, 0, None)


# --- Races -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_same_event_posted_concurrently_counts_once():
    subscriber = SubscriberFactory(email="racer@example.com")
    delivery = Delivery.objects.create(
        subscriber=subscriber,
        edition_date="2026-04-28",
        status=Delivery.Status.SENT,
        provider_message_id="m-1",
    )
    start = threading.Barrier(6)

    def deliver_once(_):
        try:
            start.wait()
            return post(Client(), opened(delivery)).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(deliver_once, range(6)))
    assert codes == [200] * 6
    delivery.refresh_from_db()
    assert delivery.opens == 1
    assert ProviderEvent.objects.count() == 1


# --- Over the wire -----------------------------------------------------------------------------


class _Postmark:
    """A loopback Postmark API that accepts every message and names it."""

    def __init__(self) -> None:
        self.accepted: list[dict] = []

    def __call__(self, request):
        batch = request.path.startswith("/email/batch")
        items = request.json() if batch else [request.json()]
        answers = []
        for item in items:
            self.accepted.append(item)
            answers.append(
                {"ErrorCode": 0, "Message": "OK", "MessageID": str(uuid.uuid4()), "To": item["To"]}
            )
        body = json.dumps(answers if batch else answers[0])
        return Response(200, body, {"Content-Type": "application/json"})


@pytest.mark.django_db(transaction=True)
def test_digest_sent_through_postmark_then_bounced_over_http_suppresses_its_reader(
    live_server, loopback, settings
):
    """Real digests go out through anymail's Postmark backend; Postmark's webhooks come back over HTTP."""
    provider = _Postmark()
    loopback.route("/email/batch", provider)
    loopback.route("/email", provider)
    settings.EMAIL_BACKEND = "mailing.backends.postmark.EmailBackend"
    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "POSTMARK_SERVER_TOKEN": "loopback-token",
        "POSTMARK_API_URL": loopback.url("/"),
    }
    topic = TopicFactory(slug="test-wire")
    PaperTopicFactory(paper=PaperFactory(title="Low-bit kernels"), topic=topic)
    today = timezone.localdate()
    rows = [
        Delivery.objects.create(subscriber=SubscriberFactory(email=email, topics=[topic]), edition_date=today)
        for email in ("bounces@example.com", "stays@example.com")
    ]
    list(deliveries_send(delivery_ids=[row.pk for row in rows], now=timezone.now()))
    sent = {
        d.subscriber.email: d for d in Delivery.objects.select_related("subscriber").filter(status="sent")
    }
    assert set(sent) == {"bounces@example.com", "stays@example.com"}
    [message] = [m for m in provider.accepted if m["To"] == "bounces@example.com"]
    bounced = sent["bounces@example.com"]
    assert message["Metadata"] == {"delivery_id": str(bounced.pk)}

    url = live_server.url + URL
    bounce = hard_bounce(bounced) | {"Metadata": message["Metadata"], "Tag": message.get("Tag", "digest")}
    refused = httpx.post(url, json=bounce, timeout=10)
    wrong = httpx.post(url, json=bounce, auth=("hook-user", "guess"), timeout=10)
    assert (refused.status_code, wrong.status_code) == (401, 401)
    assert _status(bounced.subscriber) == Subscriber.Status.ACTIVE

    user, password = SECRET.split(":", 1)
    accepted = httpx.post(url, json=bounce, auth=(user, password), timeout=10)
    opened_elsewhere = httpx.post(
        url, json=opened(sent["stays@example.com"]), auth=(user, password), timeout=10
    )

    assert (accepted.status_code, opened_elsewhere.status_code) == (200, 200)
    assert _status(bounced.subscriber) == Subscriber.Status.SUPPRESSED
    assert _status(sent["stays@example.com"].subscriber) == Subscriber.Status.ACTIVE
    assert Delivery.objects.get(pk=sent["stays@example.com"].pk).opens == 1
    assert ProviderEvent.objects.get(event_type="bounced").delivery_id == bounced.pk
