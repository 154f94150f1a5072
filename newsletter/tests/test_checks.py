"""`manage.py check` names a provider whose tracking webhooks could not take events."""

import pytest

from newsletter.checks import webhook_configuration

MAILGUN = "anymail.backends.mailgun.EmailBackend"
POSTMARK = "mailing.backends.postmark.EmailBackend"


@pytest.fixture
def anymail(settings):
    """Set ANYMAIL to exactly the given settings."""

    def configure(backend: str, **values):
        settings.EMAIL_BACKEND = backend
        settings.ANYMAIL = dict(values)

    return configure


def ids(messages):
    return [message.id for message in messages]


def test_the_outbox_and_smtp_need_no_webhooks(anymail):
    anymail("mailing.outbox.OutboxEmailBackend")
    assert webhook_configuration() == []
    anymail("django.core.mail.backends.smtp.EmailBackend")
    assert webhook_configuration() == []


def test_a_provider_without_webhook_secret_is_named(anymail):
    anymail(POSTMARK, POSTMARK_SERVER_TOKEN="token")
    messages = webhook_configuration()
    assert ids(messages) == ["paperboy.W001"]
    assert "postmark" in messages[0].msg and "/webhooks/anymail/postmark/tracking/" in messages[0].hint
    anymail(POSTMARK, POSTMARK_SERVER_TOKEN="token", WEBHOOK_SECRET="user:password")
    assert webhook_configuration() == []


@pytest.mark.parametrize(
    ("backend", "setting"),
    [
        (MAILGUN, "MAILGUN_WEBHOOK_SIGNING_KEY"),
        ("anymail.backends.postal.EmailBackend", "POSTAL_WEBHOOK_KEY"),
        ("anymail.backends.mandrill.EmailBackend", "MANDRILL_WEBHOOK_KEY"),
    ],
)
def test_a_provider_whose_webhook_signing_key_is_missing_is_named_with_the_variable(
    anymail, backend, setting
):
    anymail(backend, WEBHOOK_SECRET="user:password")
    messages = webhook_configuration()
    assert ids(messages) == ["paperboy.W002"]
    assert f"ANYMAIL_{setting}" in messages[0].hint
    anymail(backend, WEBHOOK_SECRET="user:password", **{setting: "signing-key"})
    assert webhook_configuration() == []
