"""The Celery application (`celery -A config`) and the beat schedule of every app.

Configuration lives in settings (CELERY_* names); the schedule lives here, owned by no app.
"""

import gc
import os
from datetime import timedelta

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("paperboy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# One beat process runs these (see Procfile and docker-compose.yml).
app.conf.beat_schedule = {
    "worker-heartbeat": {
        "task": "newsletter.tasks.worker_heartbeat",
        "schedule": timedelta(minutes=1),
    },
    # Digests: plan whoever's local delivery hour has come; the sweeper re-queues and times out.
    "plan-due-digests": {
        "task": "newsletter.tasks.plan_due_digests",
        "schedule": timedelta(minutes=15),
    },
    "sweep-deliveries": {
        "task": "newsletter.tasks.sweep_deliveries",
        "schedule": timedelta(minutes=5),
    },
    # The admin: dashboard roll-ups (today, yesterday, missing days) and the Today page's reader counts.
    "newsletter-refresh-admin-figures": {
        "task": "newsletter.tasks.refresh_admin_figures",
        "schedule": timedelta(minutes=10),
    },
    # Papers: each due source becomes one fetch_source task on the ingest queue.
    "papers-fetch-due-sources": {
        "task": "papers.tasks.fetch_due_sources",
        "schedule": timedelta(minutes=5),
    },
    # A trending signal at most an hour old at each send: fetch Hugging Face's list early before a
    # busy send slot (newsletter.freshness; every 5 minutes, like the fetch it brings forward).
    "newsletter-refresh-trending-signal": {
        "task": "newsletter.tasks.refresh_trending_signal",
        "schedule": timedelta(minutes=5),
    },
    "papers-recompute-trending": {
        "task": "papers.tasks.recompute_trending",
        "schedule": timedelta(minutes=30),
    },
    # Subscriptions: signups never confirmed are deleted after SUBSCRIPTIONS_PURGE_UNCONFIRMED_AFTER_DAYS.
    "subscriptions-purge-unconfirmed": {
        "task": "subscriptions.tasks.purge_unconfirmed_subscribers",
        "schedule": timedelta(hours=6),
    },
}


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


@worker_init.connect
@worker_process_init.connect
def collect_garbage_less_often(**_kwargs) -> None:
    """Raise the young generation's threshold in each worker process (PAPERBOY_WORKER_GC_THRESHOLD):
    in a prefork pool's children (worker_process_init), and in the worker itself, where thread and
    solo pools (make run's worker) run their tasks (worker_init; no child process is started there).

    Measured at 100k digests: with Python's default of 700 objects, 3,300 collections, 27 of them
    full ones over ~170k live objects, took 4 s of a worker's 22 s of CPU; at 50,000, 18 collections
    took 0.7 s. Reference counting still frees everything that is not in a cycle at once; cyclic
    garbage waits a little longer (tens of thousands of allocations), which costs a few MB."""
    from django.conf import settings

    threshold = settings.PAPERBOY_WORKER_GC_THRESHOLD
    if threshold > 0:
        _young, middle, old = gc.get_threshold()
        gc.set_threshold(threshold, middle, old)
