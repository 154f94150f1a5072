from django.apps import AppConfig


class NewsletterConfig(AppConfig):
    name = "newsletter"
    verbose_name = "Newsletter"

    def ready(self) -> None:
        # Connect the receivers: anymail's tracking signal (provider events) and personal-data
        # export and erasure (subscriptions.signals).
        # Register the system checks (newsletter.checks).
        from . import checks, lookups, receivers, webhooks  # noqa: F401
