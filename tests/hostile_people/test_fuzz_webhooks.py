"""Property-based fuzzing of every provider's tracking webhook, with and without credentials.

newsletter/tests/test_webhooks.py fuzzes Postmark-shaped JSON at the Postmark URL. These throw raw
bytes, arbitrary JSON and hostile Authorization headers at every ESP's URL, with each provider's
signing key configured as a deployment would (without one anymail answers 500 by design; see
docs/email-providers.md).
"""

import base64
import json

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from newsletter.models import Delivery
from newsletter.webhooks import urlpatterns
from subscriptions.tests.factories import SubscriberFactory

from .hostile import CONTENT_TYPES, FUZZ, queued_after_commit, snapshot

pytestmark = pytest.mark.django_db

SECRET = "hook-user:Fz-long-random-webhook-password"
SIGNING_KEYS = {
    "MAILGUN_WEBHOOK_SIGNING_KEY": "mailgun-signing-key-0123456789",
    "MANDRILL_WEBHOOK_KEY": "mandrill-webhook-key-0123456789",
    "POSTAL_WEBHOOK_KEY": "postal-webhook-key-0123456789",
    "UNISENDER_GO_API_KEY": "unisender-go-api-key-0123456789",
}
# Providers whose webhooks need more than a key in this install (an SNS certificate check, a
# differently named secret): only the gate in front of anymail is fuzzed for them.
_GATE_ONLY = ("amazon_ses", "mailersend")
TRACKING_URLS = sorted(f"/webhooks/anymail/{pattern.pattern}" for pattern in urlpatterns)
FULLY_CHECKED = [url for url in TRACKING_URLS if not any(esp in url for esp in _GATE_ONLY)]


def _basic(value: str) -> str:
    return "Basic " + base64.b64encode(value.encode("utf-8", "surrogatepass")).decode()


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=15,
)
_bodies = st.one_of(
    st.binary(max_size=300),
    _json.map(lambda value: json.dumps(value).encode()),
    st.sampled_from([b"", b"[]", b"{}", b"null", b'{"signature": []}', b'{"auth": 1}', b'[{"msys": {}}]']),
)
_wrong_auth = st.one_of(
    st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=60),
    st.text(max_size=40).map(_basic),
    st.just(_basic(SECRET + " ")),
    st.just(_basic(SECRET.upper())),
    st.just("Bearer " + SECRET),
    st.just("Basic " + SECRET),
)


@pytest.fixture
def deployed(settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": SECRET, **SIGNING_KEYS}
    subscriber = SubscriberFactory(email="reader@example.com")
    Delivery.objects.create(
        subscriber=subscriber,
        edition_date="2026-04-28",
        status=Delivery.Status.SENT,
        provider_message_id="m-1",
    )


def _post(url: str, body: bytes, content_type: str, authorization: str | None):
    headers = {"authorization": authorization} if authorization is not None else {}
    return Client(raise_request_exception=False).generic(
        "POST", url, body, content_type=content_type, headers=headers
    )


@FUZZ
@given(
    url=st.sampled_from(TRACKING_URLS),
    body=_bodies,
    content_type=st.sampled_from([*CONTENT_TYPES, "application/json"]),
    authorization=st.one_of(st.none(), _wrong_auth),
)
def test_without_the_right_credentials_nothing_is_read_and_nothing_changes(
    deployed, url, body, content_type, authorization
):
    before = snapshot()
    with queued_after_commit() as queued:
        response = _post(url, body, content_type, authorization)
    assert response.status_code == 401, (url, authorization, response.status_code)
    assert response["WWW-Authenticate"].startswith("Basic ")
    assert not queued and snapshot() == before


@FUZZ
@given(
    url=st.sampled_from(FULLY_CHECKED),
    body=_bodies,
    content_type=st.sampled_from([*CONTENT_TYPES, "application/json"]),
)
def test_authenticated_garbage_is_never_a_5xx_and_changes_nothing(deployed, url, body, content_type):
    """Random bodies name no message, delivery or address of ours: whatever the answer, nothing moves."""
    before = snapshot()
    with queued_after_commit() as queued:
        response = _post(url, body, content_type, _basic(SECRET))
    assert response.status_code < 500, (url, body[:80], content_type, response.status_code)
    assert response.status_code in (200, 400), (url, response.status_code)
    assert not queued and snapshot() == before


@pytest.mark.parametrize("esp", ["mailgun", "unisender_go"])
def test_a_json_array_where_the_signature_check_expects_an_object_is_a_400(deployed, esp):
    """Found by the fuzzer above: anymail's signature checks crashed on it (a 500 and a retry loop)."""
    before = snapshot()
    response = _post(f"/webhooks/anymail/{esp}/tracking/", b"[]", "application/json", _basic(SECRET))
    assert response.status_code == 400
    assert snapshot() == before
