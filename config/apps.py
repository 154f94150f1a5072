"""The project package as an app: start-up work that must not happen at import."""

from pathlib import Path

from django.apps import AppConfig
from django.conf import settings
from django.contrib.admin.apps import AdminConfig


class ProjectConfig(AppConfig):
    name = "config"
    label = "paperboy"
    verbose_name = "Paperboy"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the project's system checks

        make_embedded_folders()


class PaperboyAdminConfig(AdminConfig):
    """django.contrib.admin with Paperboy's site (config.admin) as `admin.site`."""

    default_site = "config.admin.PaperboyAdminSite"


def make_embedded_folders() -> None:
    """The folders the embedded defaults write to: the SQLite file's, and the filesystem broker's
    (kombu expects them to exist; a fresh checkout has none)."""
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    for key in ("data_folder_in", "data_folder_out", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
