"""No token or secret in any log: the whole flow and the webhooks with every logger at DEBUG.

gunicorn's access log is checked against a real gunicorn in test_load.py; runserver's here.
"""

import base64
import logging
import re

import pytest
from django.core import mail
from django.core.servers.basehttp import WSGIRequestHandler
from django.test import Client

from newsletter.links import digest_token
from newsletter.models import Delivery
from subscriptions.models import Subscriber

from .conftest import csrf_token_from
from .hostile import fresh_stamp

pytestmark = pytest.mark.django_db

WEBHOOK_SECRET = "hook-user:Zq8-long-random-webhook-password"


@pytest.fixture
def every_logger_at_debug(caplog):
    """Every logger that exists by now, and the root, at DEBUG; SQL logging on too."""
    from django.db import connection

    names = ["", *logging.root.manager.loggerDict]
    levels = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    connection.force_debug_cursor = True
    yield caplog
    connection.force_debug_cursor = False
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _link(message, kind: str) -> str:
    match = re.search(rf"https?://[^/\s]+(/{kind}/[^/\s\"<]+/)", message.body)
    assert match, message.body
    return match[1]


def _logged(caplog) -> str:
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


def test_the_whole_flow_and_webhooks_log_no_token_or_secret(
    topics, eager_tasks, every_logger_at_debug, django_capture_on_commit_callbacks, settings
):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": WEBHOOK_SECRET}
    caplog = every_logger_at_debug
    secrets_ = {"SECRET_KEY": settings.SECRET_KEY, "WEBHOOK_SECRET": WEBHOOK_SECRET}
    browser = Client(enforce_csrf_checks=True, HTTP_USER_AGENT="flow-test")

    # Signup, with the confirmation email sent in-process.
    form = {
        "csrfmiddlewaretoken": csrf_token_from(browser.get("/")),
        "email": "flow@example.com",
        "topics": ["lowbit"],
        "started": fresh_stamp(),
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert browser.post("/", form).status_code == 302
    confirm = _link(mail.outbox[-1], "confirm")
    secrets_["confirm token"] = confirm.split("/")[2]

    # Confirm (GET, POST), then a CSRF failure and a forged token on the same page.
    page = browser.get(confirm)
    assert browser.post(confirm, {"csrfmiddlewaretoken": csrf_token_from(page)}).status_code == 200
    assert Client(enforce_csrf_checks=True).post(confirm).status_code == 403
    assert browser.get(confirm[:-3] + "xx/").status_code == 404

    subscriber = Subscriber.objects.get(email="flow@example.com")
    from subscriptions.tokens import make_link_token

    manage = f"/manage/{make_link_token(subscriber, 'manage')}/"
    unsubscribe = f"/unsubscribe/{make_link_token(subscriber, 'unsubscribe')}/"
    secrets_["manage token"] = manage.split("/")[2]
    secrets_["unsubscribe token"] = unsubscribe.split("/")[2]

    # Manage: a bad form (400), a good one, export, a CSRF failure, a forged token.
    token = csrf_token_from(browser.get(manage))
    assert browser.post(manage, {"csrfmiddlewaretoken": token, "topics": ["nope"]}).status_code == 400
    assert browser.post(manage, {"csrfmiddlewaretoken": token, "topics": ["codegen"]}).status_code == 302
    assert browser.post(f"{manage}export/", {"csrfmiddlewaretoken": token}).status_code == 200
    assert Client(enforce_csrf_checks=True).post(manage, {"topics": ["lowbit"]}).status_code == 403
    assert browser.get(manage[:-3] + "xx/").status_code == 404

    # Unsubscribe (one-click, as a mail program), resubscribe, a forged token.
    assert (
        Client()
        .post(unsubscribe, "List-Unsubscribe=One-Click", "application/x-www-form-urlencoded")
        .status_code
        == 200
    )
    assert browser.post(f"{unsubscribe}resubscribe/", {"csrfmiddlewaretoken": token}).status_code == 200
    assert browser.get(unsubscribe[:-3] + "xx/").status_code == 404

    # The view-in-browser link, genuine and forged.
    delivery = Delivery.objects.create(subscriber=subscriber, edition_date="2026-04-28", status="sent")
    digest = f"/digest/{digest_token(delivery.pk)}/"
    secrets_["digest token"] = digest.split("/")[2]
    assert browser.get(digest).status_code == 200
    assert browser.get(digest[:-3] + "xx/").status_code == 404

    # Webhooks: no auth, a wrong password, the right one with a bad body, a real bounce.
    auth = "Basic " + base64.b64encode(WEBHOOK_SECRET.encode()).decode()
    wrong = "Basic " + base64.b64encode(b"hook-user:guess").decode()
    secrets_["Authorization"] = auth.split(" ", 1)[1]
    secrets_["webhook password"] = WEBHOOK_SECRET.split(":", 1)[1]
    hook = "/webhooks/anymail/postmark/tracking/"
    bounce = (
        '{"RecordType": "Bounce", "Type": "HardBounce", "ID": 1, "Email": "flow@example.com",'
        '"MessageID": "m-1", "BouncedAt": "2026-04-28T07:01:54Z"}'
    )
    assert Client().post(hook, bounce, "application/json").status_code == 401
    assert (
        Client().post(hook, bounce, "application/json", headers={"authorization": wrong}).status_code == 401
    )
    assert Client().post(hook, "[]", "application/json", headers={"authorization": auth}).status_code == 400
    assert Client().post(hook, bounce, "application/json", headers={"authorization": auth}).status_code == 200
    assert Subscriber.objects.get(pk=subscriber.pk).status == Subscriber.Status.SUPPRESSED

    logged = _logged(caplog)
    assert "Not Found" in logged and "Forbidden (CSRF" in logged and "Bad Request" in logged, logged[-2000:]
    assert "/manage/[redacted]/" in logged and "/confirm/[redacted]/" in logged
    assert "/digest/[redacted]/" in logged
    # Whole values and their signatures alone (a 404 on a mangled link logs most of the real token).
    needles = dict(secrets_)
    for name, value in secrets_.items():
        if name.endswith("token"):
            needles[f"{name} signature"] = re.split(r"[.:]", value)[-1]
    leaked = {name for name, value in needles.items() if value in logged}
    assert not leaked, leaked


class _Handler:
    """What runserver's WSGIRequestHandler.log_message reads from itself."""

    request = None

    def log_date_time_string(self):
        return "29/Nov/2026 00:00:00"


def test_runserver_access_log_redacts_every_link_token(caplog):
    paths = [
        "/confirm/1.2.abc:1tZ:sig/", "/manage/7.Qm9v/", "/manage/7.Qm9v/export/", "/unsubscribe/7.Qm9v/",
        "/unsubscribe/7.Qm9v/resubscribe/", "/digest/42.c2lnbmF0dXJl/",
    ]  # fmt: skip
    with caplog.at_level(logging.INFO, logger="django.server"):
        for path in paths:
            WSGIRequestHandler.log_message(_Handler(), '"%s" %s %s', f"GET {path} HTTP/1.1", "200", "512")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert logged.count("[redacted]") == len(paths)
    for secret in ("abc:1tZ:sig", "Qm9v", "c2lnbmF0dXJl"):
        assert secret not in logged
