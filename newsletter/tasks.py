"""Celery tasks of the newsletter: thin adapters that load by id and call one service."""

import socket

from celery import shared_task
from django.utils import timezone

from .models import WorkerHeartbeat, WorkerPing


@shared_task
def worker_heartbeat() -> None:
    """Record that a worker is alive; /healthz reports the latest one."""
    WorkerHeartbeat.objects.update_or_create(
        hostname=socket.gethostname(), defaults={"seen_at": timezone.now()}
    )


@shared_task
def answer_ping(ping_id: int) -> None:
    """Answer a round-trip ping made by the web process."""
    WorkerPing.objects.filter(pk=ping_id, answered_at__isnull=True).update(
        answered_at=timezone.now(), answered_by=socket.gethostname()
    )
