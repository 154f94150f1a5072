"""Optional error reporting to Sentry, started by settings only when SENTRY_DSN is set.

What leaves the process is scrubbed as the logs are (subscriptions.logfilters): link tokens and readers'
addresses are redacted in every string of an event, and credential headers and cookies are dropped.
Nothing is collected that the redaction cannot see: no stack-frame locals (they hold addresses, tokens
and message bodies under any name), no request bodies (signup forms carry addresses), no user or IP.
"""

from typing import Any

from subscriptions.logfilters import REDACTED, SECRET_HEADERS, redact

# Set by the operator, never from a reader; a release named like "paperboy@1.2.3" reads as an address.
_AS_CONFIGURED = ("release", "dist", "environment")


def init(*, dsn: str, environment: str | None, release: str | None, traces_sample_rate: float | None) -> None:
    """Start the SDK with the Django and Celery integrations; sentry_sdk is imported only here."""
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # Deprecated in favour of data_collection, which would also turn off the SDK's own scrubber of
        # values by key name (passwords, tokens, session cookies); kept until that changes.
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        # None sends no performance traces at all, only errors.
        traces_sample_rate=traces_sample_rate,
        before_send=scrub_event,
        before_send_transaction=scrub_event,
    )


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("cookies", None)
        request.pop("data", None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            for name in headers:
                if name.lower() in SECRET_HEADERS:
                    headers[name] = REDACTED
    return {key: value if key in _AS_CONFIGURED else _scrub(value) for key, value in event.items()}


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {_scrub(key): _scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value
