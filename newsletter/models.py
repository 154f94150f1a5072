"""The newsletter's own records."""

from django.db import models


class WorkerHeartbeat(models.Model):
    """Last time a worker ran the periodic heartbeat task (shown by /healthz)."""

    hostname = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.hostname} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"


class WorkerPing(models.Model):
    """A round trip through the broker: created by the web, answered by a worker."""

    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.CharField(max_length=200, blank=True)
