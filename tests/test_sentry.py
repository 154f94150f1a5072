"""Sentry, over a real wire: a loopback server is the DSN's host, and what reaches it is scrubbed.

Each case runs in its own process: sentry_sdk.init patches Django and Celery for good, and the test
process must stay as every other test sees it.
"""

import gzip
import json
import subprocess
import sys

import pytest

from config.sentry import scrub_event
from newsletter.tasks import answer_ping
from testsupport.http import Response
from testsupport.processes import ROOT, celery_worker, process_env, purge_queues, wait_for

TOKEN = "7.Zm9yZ2VkLW1hbmFnZS10b2tlbg"
ADDRESS = "reader.one@example.com"
ADDRESS_IN_URL = "reader.one%40example.com"
BASIC_AUTH = "Basic d2ViaG9vay11c2VyOnMzY3JldC1wYXNzd29yZA=="
SESSION_COOKIE = "s3cret-session-cookie"
ENVELOPE_PATH = "/api/1/envelope/"

# A view and a task that fail naming a reader, run through Django's WSGI handler (as under gunicorn,
# where Sentry reads the request) and Celery's tracer.
PROBE = f"""
import django
django.setup()

import sentry_sdk
from celery import shared_task
from django.core.wsgi import get_wsgi_application
from django.test import RequestFactory
from django.test.utils import override_settings
from django.urls import path


def fail(request, token):
    raise RuntimeError(f"could not write to {ADDRESS} from {{request.path}}")


urlpatterns = [path("manage/<str:token>/", fail)]


@shared_task
def bounce(subscriber_id):
    raise RuntimeError("bounce from {ADDRESS}")


factory = RequestFactory()
factory.cookies["sessionid"] = "{SESSION_COOKIE}"
environ = factory.get(
    "/manage/{TOKEN}/",
    {{"email": "{ADDRESS}"}},
    headers={{"authorization": "{BASIC_AUTH}", "referer": "http://testserver/manage/{TOKEN}/"}},
).environ
statuses = []
with override_settings(ROOT_URLCONF="__main__", ALLOWED_HOSTS=["testserver"]):
    body = get_wsgi_application()(environ, lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(body)
assert statuses[0].startswith("500"), statuses
bounce.apply(args=[7])
assert sentry_sdk.get_client().is_active()
sentry_sdk.flush(timeout=10)
"""

# What a process has of Sentry after loading the settings and answering a request.
WITHOUT_DSN = """
import sys
import django
django.setup()
from django.test import Client
from django.test.utils import override_settings

with override_settings(ALLOWED_HOSTS=["testserver"]):
    Client(raise_request_exception=False).get("/healthz")
print("sentry_sdk" in sys.modules)
"""


def _run(script: str, tmp_path, **env: str | None) -> str:
    """The script on embedded defaults under tmp_path (neither the run's database nor its Redis)."""
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=process_env(
            DJANGO_SETTINGS_MODULE="config.settings",
            PAPERBOY_VAR_DIR=str(tmp_path),
            DATABASE_URL=None,
            REDIS_URL=None,
            CELERY_BROKER_URL=None,
            SECRET_KEY="sentry-test-key-not-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
            **env,
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout


def _items(body: bytes, encoding: str | None) -> list[tuple[dict, dict]]:
    """An envelope's (item header, payload) pairs: a header line, then each item's header and payload."""
    if encoding == "gzip":
        body = gzip.decompress(body)
    else:
        assert not encoding, f"an encoding this test cannot read: {encoding}"
    _envelope_header, _, rest = body.partition(b"\n")
    items = []
    while rest.strip():
        line, _, rest = rest.partition(b"\n")
        header = json.loads(line)
        if "length" in header:
            payload, rest = rest[: header["length"]], rest[header["length"] + 1 :]
        else:
            payload, _, rest = rest.partition(b"\n")
        items.append((header, json.loads(payload) if payload.strip() else {}))
    return items


def _received(loopback) -> list[tuple[dict, dict]]:
    items = []
    for request in loopback.requests_to(ENVELOPE_PATH):
        encoding = {k.lower(): v for k, v in request.headers.items()}.get("content-encoding")
        items += _items(request.body, encoding)
    return items


@pytest.mark.slow
@pytest.mark.parametrize("traces", [None, "1.0"], ids=["errors only", "with traces"])
def test_errors_in_a_view_and_a_task_reach_sentry_scrubbed(loopback, tmp_path, traces):
    loopback.route(ENVELOPE_PATH, Response(200, "{}"))
    _run(
        PROBE,
        tmp_path,
        SENTRY_DSN=f"http://public-key@127.0.0.1:{loopback.port}/1",
        SENTRY_ENVIRONMENT="staging",
        SENTRY_RELEASE="paperboy@1.2.3",
        SENTRY_TRACES_SAMPLE_RATE=traces,
    )
    items = _received(loopback)
    events = [payload for header, payload in items if header["type"] == "event"]
    transactions = [payload for header, payload in items if header["type"] == "transaction"]

    messages = sorted(value["value"] for event in events for value in event["exception"]["values"])
    assert messages == ["bounce from [redacted]", "could not write to [redacted] from /manage/[redacted]/"]
    assert {(event["environment"], event["release"]) for event in events} == {("staging", "paperboy@1.2.3")}
    (view,) = [event for event in events if "request" in event]
    assert view["request"]["url"].endswith("/manage/[redacted]/")
    assert view["request"]["query_string"] == "email=[redacted]"
    assert "cookies" not in view["request"] and "data" not in view["request"]
    headers = {name.lower(): value for name, value in view["request"]["headers"].items()}
    assert headers["authorization"] in ("[redacted]", "[Filtered]")
    assert headers["referer"] == "http://testserver/manage/[redacted]/"
    assert "user" not in view or not view["user"].get("ip_address")
    # Traces only when asked for.
    assert bool(transactions) == bool(traces)

    # Nothing of the token, the address or the credentials left the process, anywhere in any item.
    sent = json.dumps(items)
    for secret in (TOKEN, ADDRESS, ADDRESS_IN_URL, BASIC_AUTH.split()[1], SESSION_COOKIE):
        assert secret not in sent, secret


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_task_failing_in_a_real_worker_reaches_sentry_scrubbed(loopback, tmp_path):
    """Started by settings in the worker's main process, Sentry reports from its forked children."""
    loopback.route(ENVELOPE_PATH, Response(200, "{}"))
    purge_queues()
    env = {"SENTRY_DSN": f"http://public-key@127.0.0.1:{loopback.port}/1", "SENTRY_TRACES_SAMPLE_RATE": None}
    with celery_worker(queues="mail", env=env, log_path=tmp_path / "worker.log"):
        # An address where an id belongs: the ORM's error quotes it.
        answer_ping.delay(ADDRESS)
        events = wait_for(
            lambda: [payload for header, payload in _received(loopback) if header["type"] == "event"],
            timeout=60,
            message="the worker's event",
        )
    (event,) = events
    # The ORM's error and the int() error it was raised from, both quoting the value.
    messages = [value["value"] for value in event["exception"]["values"]]
    assert messages == [
        "invalid literal for int() with base 10: '[redacted]'",
        "Field 'id' expected a number but got '[redacted]'.",
    ]
    assert event["transaction"] == "newsletter.tasks.answer_ping"
    assert ADDRESS not in json.dumps(_received(loopback))


@pytest.mark.slow
@pytest.mark.parametrize("dsn", [None, ""], ids=["unset", "empty"])
def test_without_a_dsn_sentry_is_never_imported(tmp_path, dsn):
    assert _run(WITHOUT_DSN, tmp_path, SENTRY_DSN=dsn).strip() == "False"


def test_scrub_event_redacts_every_string_and_drops_credentials():
    event = {
        "message": f"no digest for {ADDRESS}",
        "request": {
            "url": f"https://papers.example.com/unsubscribe/{TOKEN}/",
            "headers": {"Authorization": BASIC_AUTH, "Cookie": f"sessionid={SESSION_COOKIE}"},
            "cookies": {"sessionid": SESSION_COOKIE},
            "data": {"email": ADDRESS},
        },
        "breadcrumbs": {"values": [{"message": f"Not Found: /confirm/{TOKEN}/"}]},
        "extra": {ADDRESS: ("kept", 3)},
        "release": "paperboy@1.2.3",
    }
    scrubbed = scrub_event(event)
    assert scrubbed["message"] == "no digest for [redacted]"
    assert scrubbed["request"] == {
        "url": "https://papers.example.com/unsubscribe/[redacted]/",
        "headers": {"Authorization": "[redacted]", "Cookie": "[redacted]"},
    }
    assert scrubbed["breadcrumbs"]["values"][0]["message"] == "Not Found: /confirm/[redacted]/"
    assert scrubbed["extra"] == {"[redacted]": ["kept", 3]}
    assert scrubbed["release"] == "paperboy@1.2.3"
