"""`make run` from a clean state: web + worker + beat, demo data, admin login, a real worker round trip.

These tests run the product as a newcomer would, in separate OS processes, with a fresh var/ folder:
they sign up over HTTP, read the confirmation email in the outbox, open every URL `make run` printed,
and end it with Ctrl-C, which must stop all three quietly.
"""

import re
import signal
import subprocess
import sys
import time
from email import message_from_bytes
from html.parser import HTMLParser
from pathlib import Path

import httpx
import psutil
import pytest

from testsupport.processes import (
    ROOT,
    free_port,
    process_env,
    purge_queues,
    stop_process_group,
    wait_for,
    wait_for_http,
)
from testsupport.services import TEST_REDIS_URL, require_redis

pytestmark = pytest.mark.slow

_LAPTOP = {  # nothing configured: what a newcomer's laptop has
    "DATABASE_URL": None, "REDIS_URL": None, "CELERY_BROKER_URL": None, "EMAIL_URL": None,
    "EMAIL_PROVIDER": None, "EMAIL_BACKEND": None, "SECRET_KEY": None, "DEBUG": None,
    "DJANGO_SETTINGS_MODULE": None, "SITE_URL": None, "OUTBOX_DIR": None, "PAPERBOY_RUN_PORT": None,
}  # fmt: skip


def _start_make_run(tmp_path, port: int, **env) -> subprocess.Popen:
    log = open(tmp_path / "make-run.log", "wb")  # noqa: SIM115 - closed with the process
    # A person takes longer than the signup form's minimum time to fill it in; this test need not.
    run_env = {**_LAPTOP, "PAPERBOY_VAR_DIR": str(tmp_path / "var"), "SIGNUP_MIN_SUBMIT_SECONDS": "0", **env}
    return subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=ROOT,
        env=process_env(**run_env),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _round_trip(base: str) -> dict:
    """Ask /healthz for a worker round trip until a worker answers (the first call may be throttled)."""

    def _ping():
        body = httpx.get(f"{base}/healthz?worker=1", timeout=30).json()
        return body if body.get("worker", {}).get("status") == "ok" else None

    return wait_for(_ping, timeout=90, interval=1, message="a worker to answer the web's ping")


def _log(tmp_path) -> str:
    return (tmp_path / "make-run.log").read_text(errors="replace")


class _FormFields(HTMLParser):
    """What a browser would send for the signup form: hidden fields as served, and the first topic."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        kind, name = attrs.get("type"), attrs.get("name")
        if tag == "input" and name and (kind == "hidden" or (kind == "checkbox" and name not in self.fields)):
            self.fields[name] = attrs.get("value") or ""


def _sign_up(base: str, email: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as browser:
        page = browser.get("/")
        form = _FormFields()
        form.feed(page.text)
        assert {"csrfmiddlewaretoken", "started", "topics"} <= form.fields.keys(), form.fields
        choices = {"email": email, "frequency": "daily", "delivery_hour": "7", "timezone": "UTC"}
        answer = browser.post("/", data={**form.fields, **choices})
        assert answer.status_code == 302 and answer.headers["location"] == "/check-your-inbox/", answer.text


def _email_text(path: Path) -> str:
    message = message_from_bytes(path.read_bytes())
    parts = message.walk() if message.is_multipart() else [message]
    return "\n".join(
        part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
        for part in parts
        if part.get_content_maintype() == "text"
    )


def _confirmation_email(outbox: Path) -> Path:
    def _find():
        return next(iter(sorted(outbox.glob("*-confirm-your-*.eml"))), None)

    return wait_for(_find, timeout=90, interval=0.5, message=f"a confirmation email in {outbox}")


_LOCAL_LINK = re.compile(r"https?://(?:127\.0\.0\.1|localhost)[^\s\"'<>]*")


def _digest_links(outbox: Path) -> set[str] | None:
    """Links to this machine in every email of the outbox, once a digest (with its unsubscribe link) is in."""
    links = {link for path in outbox.glob("*.eml") for link in _LOCAL_LINK.findall(_email_text(path))}
    return links if any("/unsubscribe/" in link for link in links) else None


def _printed(log: str, label: str) -> str:
    found = re.search(rf"^{re.escape(label)}:\s+(\S+)", log, re.MULTILINE)
    assert found, f"make run printed no {label!r} line:\n{log}"
    return found[1]


def _run_and_check(tmp_path, **env) -> None:
    port = free_port()
    proc = _start_make_run(tmp_path, port, **env)
    base = f"http://127.0.0.1:{port}"
    outbox = tmp_path / "var" / "outbox"
    try:
        home = wait_for_http(f"{base}/", timeout=180)
        assert home.status_code == 200, _log(tmp_path)
        assert "Get trending papers in your email inbox" in home.text

        body = _round_trip(base)
        assert body["database"] == "ok" and body["broker"] == "ok"
        assert body["worker"]["answered_by"]

        # Every URL make run printed is on the port it serves, and answers.
        log = _log(tmp_path)
        assert _printed(log, "Admin login") == f"{base}/admin/"
        assert _printed(log, "Sign up") == f"{base}/"
        assert _printed(log, "Archive") == f"{base}/archive/"
        manage = _printed(log, "Manage page")
        assert manage.startswith(f"{base}/manage/")
        manage_page = httpx.get(manage, timeout=30)
        assert manage_page.status_code == 200 and "ada@example.com" in manage_page.text
        assert httpx.get(f"{base}/archive/", timeout=30).status_code == 200
        assert _printed(log, "Outbox") == f"{outbox}/"
        assert f"Paperboy on {base}/" in log

        # A newcomer signs up; the confirmation email's link leads back to this server.
        _sign_up(base, "newcomer@example.com")
        text = _email_text(_confirmation_email(outbox))
        confirm = re.search(r"https?://\S+/confirm/\S+/", text)
        assert confirm and confirm[0].startswith(f"{base}/confirm/"), text
        assert httpx.get(confirm[0], timeout=30).status_code == 200
        # So do the demo digests' links: manage, unsubscribe, view in browser, feedback.
        links = wait_for(lambda: _digest_links(outbox), timeout=90, message="the demo digests in the outbox")
        assert [link for link in links if not re.match(rf"{re.escape(base)}(?![0-9])", link)] == []

        login = re.search(r"user: (\S+)\s+password: (\S+)", log)
        assert login, log
        with httpx.Client(base_url=base, timeout=30) as browser:
            form = browser.get("/admin/login/")
            token = browser.cookies["csrftoken"]
            assert form.status_code == 200
            answer = browser.post(
                "/admin/login/?next=/admin/",
                data={"username": login[1], "password": login[2], "csrfmiddlewaretoken": token},
                headers={"Referer": f"{base}/admin/login/"},
            )
            assert answer.status_code == 302 and answer.headers["location"] == "/admin/", _log(tmp_path)
            assert "Today&#x27;s work | Paperboy admin" in browser.get("/admin/").text  # the index, logged in
    finally:
        children = (
            [p.pid for p in psutil.Process(proc.pid).children(recursive=True)] if proc.poll() is None else []
        )
        stop_process_group(proc, signal.SIGINT, timeout=30)  # what Ctrl-C sends
    time.sleep(1)
    assert not [
        pid for pid in children if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"
    ]
    # Ctrl-C is the normal end of a run: no error from any process, nor from make.
    log = _log(tmp_path)
    assert proc.returncode in (0, -signal.SIGINT), log
    assert [line for line in log.splitlines() if "ERROR" in line] == [], log
    assert "Error 130" not in log and "Interrupt" not in log, log
    assert "No hostname was supplied" not in log, log


def test_make_run_serves_home_and_admin_and_a_worker_answers_on_the_embedded_broker(tmp_path):
    _run_and_check(tmp_path)
    outbox_free_var = tmp_path / "var"
    assert (outbox_free_var / "paperboy.sqlite3").exists()
    assert (outbox_free_var / "broker" / "queue").is_dir()  # the filesystem broker carried the task


def test_make_run_a_second_time_works_and_does_not_duplicate_demo_data(tmp_path):
    seed = [sys.executable, "manage.py", "seed_demo"]
    env = process_env(**_LAPTOP, PAPERBOY_VAR_DIR=str(tmp_path / "var"))
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    first = subprocess.run(seed, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
    counts = _demo_counts(env)
    second = subprocess.run(seed, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
    assert _demo_counts(env) == counts
    assert re.search(r"password: (\S+)", first)[1] == re.search(r"password: (\S+)", second)[1]


def _demo_counts(env) -> str:
    script = (
        "import django; django.setup();"
        "from django.apps import apps;"
        "print(sorted((m._meta.label, m.objects.count()) for m in apps.get_models()"
        " if m._meta.app_label in ('auth', 'papers', 'subscriptions', 'newsletter')"
        " and m._meta.model_name not in ('workerheartbeat', 'workerping')))"
    )
    env = {**env, "DJANGO_SETTINGS_MODULE": "config.settings"}
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


@pytest.mark.redis
def test_a_web_request_reaches_a_separate_worker_over_redis(tmp_path):
    require_redis()
    purge_queues()  # no task an earlier test left on this Redis
    _run_and_check(tmp_path, REDIS_URL=TEST_REDIS_URL)
