"""Real processes for tests: Celery workers and the web server, as separate OS processes."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_url() -> str:
    """The URL of the database the running test uses, so that a subprocess opens the same one."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    user = s.get("USER") or "postgres"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{s['NAME']}"


def process_env(**overrides: str | None) -> dict[str, str]:
    """This process's environment with overrides; a None value removes the variable."""
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def stop_process_group(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextmanager
def celery_worker(
    *,
    queues: str = "ingest,mail",
    concurrency: int = 1,
    env: dict[str, str | None] | None = None,
    log_path: Path | None = None,
    pool: str = "prefork",
    hostname: str | None = None,
) -> Iterator[subprocess.Popen]:
    """Run a real `celery worker` on the test database until the block ends.

    The worker inherits this process's broker settings, so tasks this test enqueues reach it.
    """
    overrides = {"DATABASE_URL": test_database_url(), **(env or {})}
    name = hostname or f"test-{os.getpid()}-{free_port()}@%h"
    cmd = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "-Q", queues, "-c", str(concurrency), "-P", pool, "-n", name,
        "--without-gossip", "--without-mingle", "-l", "info",
    ]  # fmt: skip
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=process_env(**overrides),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        stop_process_group(proc)
        if log_path:
            log.close()


def purge_queues() -> int:
    """Drop every task waiting on the run's broker (Redis when given, else the embedded folder), so a
    worker a test starts sees no task an earlier test left behind; returns how many were dropped."""
    from config.celery import app

    return app.control.purge()


def wait_for(predicate, *, timeout: float = 30, interval: float = 0.1, message: str = "condition"):
    """Poll until predicate() is truthy and return its value; fail with `message` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def wait_for_http(url: str, *, timeout: float = 30) -> httpx.Response:
    def _get():
        try:
            return httpx.get(url, timeout=5)
        except httpx.HTTPError:
            return None

    return wait_for(_get, timeout=timeout, message=f"{url} to answer")
