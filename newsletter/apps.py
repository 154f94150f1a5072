from django.apps import AppConfig


class NewsletterConfig(AppConfig):
    name = "newsletter"
    verbose_name = "Newsletter"

    def ready(self) -> None:
        # Connects the anymail tracking-signal receiver (provider events).
        from . import webhooks  # noqa: F401
