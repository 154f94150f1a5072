"""/healthz: is the database reachable, is the broker reachable, and (on request) is a worker answering.

Served by HealthzMiddleware, ahead of Django's host validation: the container's healthcheck and load
balancers ask by address (Host: 127.0.0.1:8000), which no production ALLOWED_HOSTS lists.
"""

import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.http import JsonResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from newsletter.models import WorkerHeartbeat, WorkerPing
from newsletter.tasks import answer_ping

from .celery import app as celery_app

PATH = "/healthz"  # config/urls.py names the same path, for reverse()
# A worker round trip is a real task; an unauthenticated caller may start at most one per window.
PING_THROTTLE_SECONDS = 5
PING_WAIT_SECONDS = 10


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "not reachable"
        return f"{type(exc).__name__}: {exc}"
    return None


def _check_broker() -> str | None:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            _ = conn.default_channel  # opens a channel: proves the transport really answers
    except Exception as exc:  # kombu raises transport-specific errors
        return f"{type(exc).__name__}: {exc}"
    return None


def _worker_round_trip() -> dict:
    if not cache.add("healthz:worker-ping", 1, PING_THROTTLE_SECONDS):
        return {"status": "throttled"}
    with transaction.atomic():
        ping = WorkerPing.objects.create()
        transaction.on_commit(lambda: answer_ping.delay(ping.pk))
    deadline = time.monotonic() + PING_WAIT_SECONDS
    while time.monotonic() < deadline:
        ping.refresh_from_db()
        if ping.answered_at:
            seconds = (ping.answered_at - ping.created_at).total_seconds()
            return {"status": "ok", "answered_by": ping.answered_by, "seconds": round(seconds, 3)}
        time.sleep(0.1)
    return {"status": "timeout"}


@never_cache
@require_GET
def healthz(request):
    problems = {}
    report = {}
    for name, check in (("database", _check_database), ("broker", _check_broker)):
        error = check()
        report[name] = "ok" if error is None else "unreachable"
        if error is not None:
            problems[name] = error
    if "database" not in problems:
        beat = WorkerHeartbeat.objects.order_by("-seen_at").first()
        report["last_worker_heartbeat"] = beat.seen_at.isoformat() if beat else None
        if request.GET.get("worker") and "broker" not in problems:
            report["worker"] = _worker_round_trip()
    if problems:
        report["errors"] = problems if settings.DEBUG else dict.fromkeys(problems, "unreachable")
        return JsonResponse(report, status=503)
    return JsonResponse(report)


class HealthzMiddleware:
    """Answer exactly /healthz before CommonMiddleware (and CSRF) call request.get_host().

    It sits below SecurityMiddleware, SecurityHeadersMiddleware and WhiteNoise, so the answer keeps
    their security headers; none of those reads the host for /healthz (SecurityMiddleware only to
    redirect to HTTPS, and SECURE_REDIRECT_EXEMPT spares /healthz).
    """

    def __init__(self, get_response):
        self.get_response = get_response
        # The one middleware below this one that only adds a header: the answer keeps X-Frame-Options.
        self.answer = XFrameOptionsMiddleware(healthz)

    def __call__(self, request):
        if request.path_info != PATH:
            return self.get_response(request)
        response = self.answer(request)
        # CommonMiddleware, which sets it on every other response, is skipped here.
        response.headers.setdefault("Content-Length", str(len(response.content)))
        return response
