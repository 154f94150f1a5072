"""Property-based: whatever arrives at the subscription endpoints, no 5xx and no change of state."""

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subscriptions.models import ConsentRecord, Subscriber
from subscriptions.tests.factories import SubscriberFactory
from subscriptions.tokens import make_link_token

pytestmark = pytest.mark.django_db

_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300)
_fields = st.dictionaries(
    st.sampled_from(
        ["email", "topics", "frequency", "delivery_hour", "delivery_weekday", "timezone", "keywords",
         "leave_blank", "started", "paused", "List-Unsubscribe", "csrfmiddlewaretoken"]
    ),
    st.one_of(_text, st.lists(_text, max_size=4)),
    max_size=8,
)  # fmt: skip
_CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "multipart/form-data",
    "text/plain",
]
_FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _snapshot():
    return (
        sorted(
            Subscriber.objects.values_list("email", "status", "timezone", "paused", "token_key", "keywords")
        ),
        ConsentRecord.objects.count(),
    )


@_FUZZ
@given(data=_fields)
def test_signup_never_fails_and_invalid_input_creates_nothing(topics, data):
    before = _snapshot()
    response = Client().post("/", data)
    assert response.status_code < 500
    if response.status_code != 302:
        assert _snapshot() == before


@_FUZZ
@given(token=_text, data=_fields, kind=st.sampled_from(["confirm", "manage", "unsubscribe"]))
def test_forged_tokens_never_fail_and_change_nothing(topics, token, data, kind):
    # Examples share one database transaction: make the victim once.
    if not Subscriber.objects.filter(email="victim@example.com").exists():
        SubscriberFactory(email="victim@example.com", topics=topics[:1])
    before = _snapshot()
    path = f"/{kind}/{token.replace('/', '')}/"
    for method in (Client().get, Client().post):
        response = method(path, data) if method.__name__ == "post" else method(path)
        assert response.status_code < 500 and response.status_code != 200
    assert _snapshot() == before


@_FUZZ
@given(data=_fields)
def test_manage_with_any_body_never_fails(topics, data):
    subscriber = SubscriberFactory(topics=topics[:1])
    path = f"/manage/{make_link_token(subscriber, 'manage')}/"
    before = _snapshot()
    response = Client().post(path, data)
    assert response.status_code < 500
    if response.status_code != 302:
        assert _snapshot() == before


@_FUZZ
@given(body=st.binary(max_size=500), content_type=st.sampled_from(_CONTENT_TYPES))
def test_raw_bodies_never_fail(topics, body, content_type):
    for path in ("/", "/unsubscribe/1.abc/", "/manage/1.abc/"):
        assert Client().generic("POST", path, body, content_type=content_type).status_code < 500
