"""The Celery application. All configuration lives in settings (CELERY_* names)."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsletter.settings")

app = Celery("paperboy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def release_stale_connections(task=None, **_kwargs) -> None:
    """Close database connections past CONN_MAX_AGE or broken, and have the next query check the
    connection first (CONN_HEALTH_CHECKS), around every task, as Django does around every request.
    Celery's own fix-up would close them all after every task (see CELERY_DB_REUSE_MAX)."""
    if task is not None and getattr(task.request, "is_eager", False):
        return  # run inline, inside the caller's request or transaction: leave its connection be
    from django.db import close_old_connections

    close_old_connections()
