"""No dead ends: "Get your manage link" on the start page and on every used, expired or invalid link page,
answered the same whatever the address (no enumeration), rate-limited, CSRF-checked."""

import time

import pytest
from django.core import mail, signing
from django.test import Client

from subscriptions import services
from subscriptions.models import Subscriber
from subscriptions.tests.conftest import last_mail_to, link_from
from subscriptions.tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ask(client, django_capture_on_commit_callbacks, eager_tasks):
    """POST the link-request form (commit callbacks run, so the email task runs)."""

    def _ask(email: str, *, http_client=None, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return (http_client or client).post("/my-links/", {"email": email}, **extra)

    return _ask


def _mails_to(address: str) -> list:
    return [m for m in mail.outbox if m.to == [address]]


def test_the_start_page_offers_the_manage_link_form(client, topics):
    page = client.get("/").content.decode()
    assert "Already subscribed? Get your manage link" in page
    assert 'action="/my-links/"' in page and "csrfmiddlewaretoken" in page


def test_an_active_reader_gets_a_working_manage_link(client, ask):
    SubscriberFactory(email="ada@example.com", status=Subscriber.Status.ACTIVE)
    response = ask("Ada@Example.com")
    assert response.status_code == 302 and response["Location"] == "/my-links/sent/"
    (message,) = _mails_to("ada@example.com")
    assert client.get(link_from(message, "manage")).status_code == 200


def test_a_pending_signup_gets_no_more_confirmations_than_signing_up_again(sign_up, ask, settings):
    """Whoever typed a stranger's address into the signup form cannot mail them through this form either."""
    settings.SUBSCRIPTIONS_LINK_REQUEST_INTERVAL_MINUTES = 0
    sign_up("stranger@example.com")  # its confirmation email went out now
    mail.outbox.clear()
    for _ in range(3):
        assert ask("stranger@example.com").status_code == 302
    assert _mails_to("stranger@example.com") == []


def test_a_pending_signup_gets_a_fresh_confirmation_link(client, sign_up, ask, settings, topics):
    settings.SUBSCRIPTIONS_LINK_REQUEST_INTERVAL_MINUTES = 0
    settings.SUBSCRIPTIONS_EMAIL_INTERVAL_HOURS = 0
    sign_up("ada@example.com")
    mail.outbox.clear()
    ask("ada@example.com")
    confirm = link_from(last_mail_to("ada@example.com"), "confirm")
    assert client.post(confirm).status_code == 200
    assert Subscriber.objects.get().status == Subscriber.Status.ACTIVE


@pytest.mark.parametrize(
    "state", ["active", "pending-without-signup", "unsubscribed", "suppressed", "unknown"]
)
def test_the_answer_is_the_same_whatever_the_address(client, ask, state):
    """The page says nothing of whether, or how, an address subscribes."""
    if state != "unknown":
        status = {"pending-without-signup": "pending"}.get(state, state)
        SubscriberFactory(email="who@example.com", status=status)
    response = ask("who@example.com")
    assert (response.status_code, response["Location"]) == (302, "/my-links/sent/")
    sent_page = client.get(response["Location"])
    reference = Client().get("/my-links/sent/")
    assert sent_page.content == reference.content
    assert len(_mails_to("who@example.com")) == (1 if state == "active" else 0)


def test_one_email_per_address_per_interval(ask):
    SubscriberFactory(email="ada@example.com", status=Subscriber.Status.ACTIVE)
    for _ in range(3):
        assert ask("ada@example.com").status_code == 302
    assert len(_mails_to("ada@example.com")) == 1


def test_requests_from_one_network_are_rate_limited(ask, settings):
    settings.SUBSCRIPTIONS_SIGNUPS_PER_IP_PER_HOUR = 2
    codes = [ask(f"n{n}@example.com", REMOTE_ADDR="198.51.100.7").status_code for n in range(4)]
    assert codes == [302, 302, 429, 429]
    assert ask("other@example.com", REMOTE_ADDR="198.51.100.8").status_code == 302


def test_the_form_needs_a_csrf_token(topics):
    SubscriberFactory(email="ada@example.com", status=Subscriber.Status.ACTIVE)
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/my-links/", {"email": "ada@example.com"}).status_code == 403
    page = strict.get("/my-links/")
    token = page.cookies["csrftoken"].value
    assert (
        strict.post("/my-links/", {"email": "ada@example.com", "csrfmiddlewaretoken": token}).status_code
        == 302
    )


def test_text_that_is_no_address_is_answered_with_the_form(client):
    response = client.post("/my-links/", {"email": "not an address"})
    assert response.status_code == 400 and b"valid email address" in response.content


def test_a_used_confirmation_link_offers_the_manage_link(client, sign_up, ask, topics, settings):
    sign_up("ada@example.com")
    confirm = link_from(last_mail_to("ada@example.com"), "confirm")
    client.post(confirm)
    services.subscriber_unsubscribe(subscriber=Subscriber.objects.get(), reason="test")
    page = client.post(confirm)  # older than the unsubscribe: used up
    assert page.status_code == 400
    assert b"Email me my manage link" in page.content and b'action="/my-links/"' in page.content


def test_an_expired_confirmation_link_offers_a_fresh_one(client, sign_up, topics, monkeypatch):
    sign_up("ada@example.com")
    confirm = link_from(last_mail_to("ada@example.com"), "confirm")
    eight_days_later = time.time() + 8 * 24 * 3600
    monkeypatch.setattr(signing.time, "time", lambda: eight_days_later)
    page = client.get(confirm)
    assert page.status_code == 400 and b"Email me my manage link" in page.content


@pytest.mark.parametrize(
    "path", ["/check-your-inbox/", "/my-links/", "/my-links/sent/", "/manage/not-a-token/", "/nowhere/"]
)
def test_end_pages_link_on(client, path):
    page = client.get(path).content.decode()
    assert 'href="/"' in page
    assert "/my-links/" in page or "sign up" in page.lower()
