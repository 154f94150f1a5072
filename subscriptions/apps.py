from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "Subscriptions"

    def ready(self) -> None:
        from . import feedback_receivers, logfilters, shell_receivers  # noqa: F401 - receivers connect on import

        logfilters.install()
