"""System checks: a provider is set up to send, but its tracking webhooks could not take events.

Bounces and complaints arrive only through the webhooks, and they are what keeps a dead address from
being mailed every morning. Both gaps below are silent at sending time, so `manage.py check` (and
every `runserver`, `migrate`, …) names them:

- paperboy.W001: an email provider is configured but WEBHOOK_SECRET is not, so every webhook POST is
  refused (newsletter.webhooks);
- paperboy.W002: the provider's webhook verifies signatures and its key is not set (Mailgun, Postal,
  Mandrill): its events are answered 503 until it is.
"""

from __future__ import annotations

import re

from anymail import urls as anymail_urls
from anymail.backends.base import AnymailBaseBackend
from anymail.exceptions import AnymailConfigurationError
from anymail.utils import get_anymail_setting
from django.conf import settings
from django.core.checks import Warning, register
from django.utils.module_loading import import_string


def configured_esp() -> str | None:
    """The anymail provider EMAIL_BACKEND sends through ("mailgun", "postmark", …), or None for SMTP,
    the outbox and other plain Django backends."""
    try:
        backend = import_string(settings.EMAIL_BACKEND)
    except ImportError:
        return None
    if not (isinstance(backend, type) and issubclass(backend, AnymailBaseBackend)):
        return None
    # anymail.backends.mailgun.EmailBackend, mailing.backends.postmark.EmailBackend: the module
    # names the provider as anymail's webhook URLs do.
    return backend.__module__.rsplit(".", 1)[-1]


def _tracking_view_class(esp: str):
    for pattern in anymail_urls.urlpatterns:
        if pattern.name == f"{esp}_tracking_webhook":
            return pattern.callback.view_class
    return None


def webhook_key_problem(view_class) -> str | None:
    """Why a provider's tracking view cannot verify the events it is sent, or None.

    Mailgun's and Postal's views refuse to start without their signing key; Mandrill's starts and
    fails on the first POST. Either way anymail raises AnymailConfigurationError naming the setting.
    """
    try:
        view = view_class()
    except AnymailConfigurationError as exc:
        return str(exc)
    if getattr(view, "esp_name", "") == "Mandrill" and getattr(view, "webhook_key", None) is None:
        try:
            get_anymail_setting("webhook_key", esp_name="Mandrill", allow_bare=True, kwargs={})
        except AnymailConfigurationError as exc:
            return str(exc)
    return None


def _setting_hint(problem: str) -> str:
    # anymail names the Django setting; Paperboy reads every ANYMAIL_* setting from the environment.
    names = re.findall(r"\bANYMAIL_[A-Z0-9_]+", problem)
    return f"Set {names[0]} in the environment." if names else problem


@register()
def webhook_configuration(app_configs=None, **kwargs) -> list[Warning]:
    esp = configured_esp()
    if esp is None:
        return []
    problems = []
    secret = get_anymail_setting("webhook_secret", default=None)
    if not secret:
        problems.append(
            Warning(
                f"Tracking webhooks are off: EMAIL_BACKEND sends through {esp}, but WEBHOOK_SECRET is not "
                "set, so its bounce and complaint events are refused (403) and dead addresses stay "
                "on the list.",
                hint="Set WEBHOOK_SECRET=user:password and give the provider the webhook URL with those "
                f"credentials: https://user:password@your.host/webhooks/anymail/{esp}/tracking/",
                id="paperboy.W001",
            )
        )
    view_class = _tracking_view_class(esp)
    problem = webhook_key_problem(view_class) if view_class is not None else None
    if problem:
        problems.append(
            Warning(
                f"{esp} tracking webhooks cannot verify their signature, so their events are answered "
                "503 (the provider keeps retrying them) until the key is set.",
                hint=_setting_hint(problem),
                id="paperboy.W002",
            )
        )
    return problems
