"""`make run` from a clean state: web + worker + beat, demo data, admin login, a real worker round trip.

These tests run the product as a newcomer would, in separate OS processes, with a fresh var/ folder.
"""

import re
import signal
import subprocess
import sys
import time

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
    "DJANGO_SETTINGS_MODULE": None,
}  # fmt: skip


def _start_make_run(tmp_path, port: int, **env) -> subprocess.Popen:
    log = open(tmp_path / "make-run.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=ROOT,
        env=process_env(**{**_LAPTOP, "PAPERBOY_VAR_DIR": str(tmp_path / "var"), **env}),
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


def _run_and_check(tmp_path, **env) -> None:
    port = free_port()
    proc = _start_make_run(tmp_path, port, **env)
    base = f"http://127.0.0.1:{port}"
    try:
        home = wait_for_http(f"{base}/", timeout=180)
        assert home.status_code == 200, _log(tmp_path)
        assert "Get trending papers in your email inbox" in home.text

        body = _round_trip(base)
        assert body["database"] == "ok" and body["broker"] == "ok"
        assert body["worker"]["answered_by"]

        login = re.search(r"user: (\S+)\s+password: (\S+)", _log(tmp_path))
        assert login, _log(tmp_path)
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
            assert "Site administration" in browser.get("/admin/").text
    finally:
        children = (
            [p.pid for p in psutil.Process(proc.pid).children(recursive=True)] if proc.poll() is None else []
        )
        stop_process_group(proc, signal.SIGINT, timeout=30)  # what Ctrl-C sends
    time.sleep(1)
    assert not [
        pid for pid in children if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"
    ]


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
