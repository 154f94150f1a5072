"""System checks of the project's configuration (run by `manage.py check`, migrate and runserver)."""

from django.conf import settings
from django.core.checks import Warning, register


@register()
def renamed_variables(app_configs, **kwargs):
    """Environment variables read under a name from before each app had one naming scheme."""
    return [
        Warning(
            f"{old} is an old name of {new}.",
            hint=f"Rename it to {new} in the environment or .env; the old name will stop working.",
            id="paperboy.W003",
        )
        for old, new in sorted(getattr(settings, "PAPERBOY_RENAMED_VARIABLES", {}).items())
    ]
