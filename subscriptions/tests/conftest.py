"""Fixtures for the subscriptions tests."""

import re
import time

import pytest
from django.core import mail

from papers.tests.factories import TopicFactory
from subscriptions.forms import make_form_stamp


@pytest.fixture
def topics(db):
    return [
        TopicFactory(slug="lowbit", name="Quantization", description="Low-bit models."),
        TopicFactory(slug="codegen", name="Code LLMs", description="Models that write code."),
        TopicFactory(slug="toolusers", name="Agents", description="Tool use and planning."),
    ]


@pytest.fixture
def eager_tasks():
    """Run tasks in this process (with Django's test mail outbox); real-worker tests use a worker."""
    from config.celery import app

    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


def service_signup(email: str, topics):
    """subscriber_signup as the signup view calls it, with test values for the consent record."""
    from subscriptions import services

    return services.subscriber_signup(
        email=email,
        preferences=services.Preferences(topics=tuple(topics)),
        ip_address="192.0.2.1",
        user_agent="test",
        form_version="v-test",
        consent_text="I agree.",
    )


def signup_data(email: str = "ada@example.com", **overrides) -> dict:
    """What the signup form sends when a person filled it in a while after the page was served."""
    data = {
        "email": email,
        "topics": ["lowbit", "codegen"],
        "frequency": "daily",
        "delivery_hour": "7",
        "delivery_weekday": "0",
        "timezone": "Europe/Berlin",
        "leave_blank": "",
        "started": make_form_stamp(time.time() - 30),
    }
    data.update(overrides)
    return data


@pytest.fixture
def sign_up(client, django_capture_on_commit_callbacks, eager_tasks):
    """POST the signup form (commit callbacks run, so the email task runs) and return the response."""

    def _sign_up(email: str = "ada@example.com", *, http_client=None, **overrides):
        # Upper-case names are request headers / WSGI environ (HTTP_ORIGIN, REMOTE_ADDR), the rest form data.
        extra = {k: v for k, v in overrides.items() if k.isupper()}
        data = signup_data(email, **{k: v for k, v in overrides.items() if not k.isupper()})
        with django_capture_on_commit_callbacks(execute=True):
            return (http_client or client).post("/", data, **extra)

    return _sign_up


def link_from(message, kind: str) -> str:
    """The site-relative path of the first `kind` (confirm, manage, unsubscribe) link in an email."""
    match = re.search(rf"https?://[^/\s]+(/{kind}/[^/\s\"<]+/)", message.body)
    assert match, f"no {kind} link in: {message.body}"
    return match[1]


def last_mail_to(address: str):
    sent = [m for m in mail.outbox if address in m.to]
    assert sent, f"no mail to {address}; outbox: {[m.to for m in mail.outbox]}"
    return sent[-1]
