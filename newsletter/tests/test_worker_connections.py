"""A worker process's set-up: its database connection between tasks (kept by CONN_MAX_AGE, checked
before reuse) and its garbage collector's threshold."""

import gc

import pytest
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_postrun, task_prerun, worker_init, worker_process_init
from django.db import connection

from config.celery import app as celery_app
from newsletter.models import Delivery
from newsletter.tasks import send_digest_chunk
from testsupport.services import terminate_django_connection


def run_task_hooks(task, body) -> None:
    """What a worker does around a task: Celery's Django fix-up and the task signals."""
    fixup = DjangoWorkerFixup(celery_app)
    fixup.on_task_prerun(sender=task)
    task_prerun.send(sender=task, task_id="t", task=task, args=(), kwargs={})
    body()
    task_postrun.send(sender=task, task_id="t", task=task, args=(), kwargs={}, retval=None, state="SUCCESS")
    fixup.on_task_postrun(sender=task)


@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_its_database_connection_from_task_to_task():
    """Celery's fix-up closes every connection after every task unless CELERY_DB_REUSE_MAX is set,
    so each chunk opened a new Postgres connection (a new server process with cold caches). Now the
    connection lives as long as CONN_MAX_AGE says: reused on Postgres (60 s), closed after each task
    where it is 0 (SQLite)."""
    connection.ensure_connection()
    first = connection.connection
    for _ in range(3):
        run_task_hooks(send_digest_chunk, lambda: Delivery.objects.count())
    reused = connection.connection is first
    assert reused == (connection.settings_dict["CONN_MAX_AGE"] > 0)


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres  # CONN_MAX_AGE is 0 on SQLite: none is kept
def test_a_kept_connection_that_died_between_tasks_is_replaced():
    """A connection terminated while the worker waited for its next task (a failover, an idle kill):
    the health check before the first query replaces it, and the task runs."""
    run_task_hooks(send_digest_chunk, lambda: Delivery.objects.count())
    pid = terminate_django_connection()

    def body() -> None:
        assert Delivery.objects.count() == 0
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            assert cursor.fetchone()[0] != pid

    run_task_hooks(send_digest_chunk, body)


@pytest.mark.parametrize("started", [worker_process_init, worker_init], ids=["pool process", "worker"])
@pytest.mark.parametrize(("setting", "expected_young"), [(50_000, 50_000), (0, 700)])
def test_a_worker_process_collects_young_garbage_at_the_configured_threshold(
    settings, setting, expected_young, started
):
    """Each prefork pool process raises the young generation's threshold when it starts (Celery's
    worker_process_init), and so does a worker whose pool runs tasks in its own process (threads,
    solo: make run's), when it starts (worker_init); 0 leaves Python's default."""
    before = gc.get_threshold()
    settings.PAPERBOY_WORKER_GC_THRESHOLD = setting
    try:
        gc.set_threshold(700, before[1], before[2])
        started.send(sender=None)
        assert gc.get_threshold() == (expected_young, before[1], before[2])
    finally:
        gc.set_threshold(*before)
