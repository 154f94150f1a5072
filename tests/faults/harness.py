"""The fault matrix's harness: a case's own Redis, the loopback provider, workers, the sweeper, a tally.

Every case runs the production digest path with real parts: Postgres (the test database), a
redis-server process of its own on a free loopback port (so it can be killed and restarted without
touching anyone else's Redis), Celery workers as subprocesses, and the loopback Postmark server
(testsupport.postmark) in this process, which counts every message it accepted per recipient.

The test process itself never talks to the broker: planner ticks and the sweeper run as
subprocesses (tests/faults/driver.py) with the case's broker URL in their environment. That is the
simplest robust way to point the enqueueing side at a Redis that comes and goes: a fresh process has
no producer pool to go stale, and the test's own Celery app stays on whatever the suite configured.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import redis
from django.utils import timezone

from benchmarks.digests.dataset import DatasetSpec, dataset_build
from newsletter.models import Delivery
from subscriptions.models import Subscriber
from testsupport.postmark import PostmarkServer, Script, worker_env
from testsupport.processes import (
    ROOT,
    celery_worker,
    free_port,
    process_env,
    stop_process_group,
    test_database_url,
    wait_for,
)

WORKER_APP = "faults-worker"  # application_name of the workers' database connections
DRIVER_APP = "faults-driver"
# Production's sweeper thresholds (5 min stale, 15 min sending timeout, every 5 min) in seconds.
SWEEP_EVERY, STALE_AFTER, SENDING_TIMEOUT = 1.0, 4.0, 12.0
ZONES = ("UTC", "Asia/Tokyo", "America/New_York")

Status = Delivery.Status


# --- The case's own Redis ----------------------------------------------------------------------


class RedisProcess:
    """A redis-server that keeps nothing on disk: killed and started again, it comes back empty."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        cmd = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--daemonize", "no", "--dir", str(self.workdir),
        ]  # fmt: skip
        log = open(self.workdir / "redis.log", "ab")  # noqa: SIM115 - owned by the process
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)

        def _up() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_for(_up, timeout=10, message=f"redis-server on port {self.port}")
        client.close()
        return self

    def kill(self) -> None:
        if self.proc is not None:
            stop_process_group(self.proc, signal.SIGKILL)

    def restart(self, *, down_for: float) -> None:
        self.kill()
        time.sleep(down_for)
        self.restarts += 1
        self.start()


# --- Database helpers --------------------------------------------------------------------------


def _conninfo(application_name: str = "faults-test") -> str:
    return f"{test_database_url()}?application_name={application_name}"


def terminate_backends(application_name: str = WORKER_APP) -> int:
    """pg_terminate_backend on every connection with that application name (the workers')."""
    with psycopg.connect(_conninfo("faults-terminator"), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s AND pid <> pg_backend_pid()",
            [application_name],
        ).fetchall()
    return sum(1 for (ok,) in rows if ok)


def build_list(subscribers: int) -> tuple[date, str]:
    """The benchmark's synthetic list, small: few topics and papers so composing is cheap. Every
    subscriber is moved to one zone whose local hour is far from midnight, so every planner tick of
    the case (and send_digests, which reads the clock itself) plans the same local date."""
    now = timezone.now()
    dataset_build(DatasetSpec(subscribers=subscribers, topics=4, papers=120), now=now, log=lambda *_: None)
    zone = next(z for z in ZONES if 1 <= now.astimezone(ZoneInfo(z)).hour <= 21)
    Subscriber.objects.update(timezone=zone)
    return now.astimezone(ZoneInfo(zone)).date(), now.isoformat()


# --- The tally ---------------------------------------------------------------------------------


@dataclass
class Tally:
    case: str
    subscribers: int
    sent: int = 0  # recorded sent and at the provider exactly once
    unknown: int = 0  # in flight at a crash: the provider may or may not have it; never re-sent
    unknown_at_provider: int = 0  # of those, how many the provider did take
    failed: int = 0  # recorded failed with a reason, not at the provider
    skipped: int = 0  # nothing to send, with the reason
    duplicates: int = 0  # extra copies at the provider
    lost: int = 0  # none of the above: a silent gap
    wrong_record: int = 0  # at the provider once, but the row says planned / sending / failed / skipped
    provider_messages: int = 0
    seconds: float = 0.0
    note: str = ""

    def row(self) -> list[str]:
        return [
            self.case, str(self.subscribers), str(self.sent), str(self.duplicates), str(self.unknown),
            str(self.unknown_at_provider), str(self.lost), str(self.failed), str(self.wrong_record),
            f"{self.seconds:.0f}",
        ]  # fmt: skip


HEADER = [
    "case", "digests", "sent", "duplicates", "unknown", "of which at provider", "lost", "failed",
    "wrong record", "s",
]  # fmt: skip


def tally(case: str, provider: PostmarkServer, edition_date: date) -> Tally:
    """Every active subscriber, by what the provider holds and what their Delivery says."""
    at_provider: Counter[str] = Counter(provider.per_recipient)
    rows = {
        d["subscriber_id"]: d
        for d in Delivery.objects.filter(edition_date=edition_date).values(
            "subscriber_id", "status", "last_error", "skip_reason"
        )
    }
    subscribers = list(Subscriber.objects.filter(status=Subscriber.Status.ACTIVE).values_list("pk", "email"))
    result = Tally(case=case, subscribers=len(subscribers), provider_messages=provider.messages)
    for pk, email in subscribers:
        copies = at_provider.pop(email.lower(), 0)
        result.duplicates += max(0, copies - 1)
        row = rows.get(pk)
        status = row["status"] if row else None
        if status == Status.UNKNOWN:
            result.unknown += 1
            result.unknown_at_provider += bool(copies)
        elif copies:
            if status == Status.SENT:
                result.sent += 1
            else:
                result.wrong_record += 1
        elif status == Status.FAILED and row["last_error"]:
            result.failed += 1
        elif status == Status.SKIPPED and row["skip_reason"]:
            result.skipped += 1
        else:
            result.lost += 1  # no row, still planned / sending, or "sent" but never at the provider
    result.wrong_record += sum(at_provider.values())  # mail for someone who is not a subscriber
    return result


def final_counts() -> dict[str, int]:
    return dict(Counter(Delivery.objects.values_list("status", flat=True)))


# --- A case ------------------------------------------------------------------------------------


class FaultCase:
    """One case's processes: its Redis, the provider, workers, the sweeper; stopped at the end."""

    def __init__(
        self,
        name: str,
        workdir: Path,
        *,
        script: Script | None = None,
        chunk_size: int = 500,
        provider_class: type[PostmarkServer] = PostmarkServer,
    ):
        self.name = name
        self.workdir = workdir
        self.chunk_size = chunk_size
        self.stack = ExitStack()
        self.redis = RedisProcess(workdir)
        self.provider = provider_class(script=script, sample_every=10, check_per_call=5)
        self.started = time.monotonic()
        self._workers = 0
        self.edition_date: date | None = None
        self.now_iso = ""

    def __enter__(self) -> FaultCase:
        self.redis.start()
        self.stack.callback(self.redis.kill)
        self.stack.enter_context(self.provider)
        return self

    def __exit__(self, *exc) -> None:
        self.stack.close()

    # environment shared by the workers and the driver
    def env(self, application_name: str, **extra: str | None) -> dict[str, str | None]:
        return {
            "DATABASE_URL": _conninfo(application_name),
            "REDIS_URL": self.redis.url,
            "CELERY_BROKER_URL": self.redis.url,
            **worker_env(self.provider.url),
            "NEWSLETTER_SEND_CHUNK_SIZE": str(self.chunk_size),
            "NEWSLETTER_SEND_RETRY_BASE_SECONDS": "0.5",
            **extra,
        }

    def build_list(self, subscribers: int) -> None:
        self.edition_date, self.now_iso = build_list(subscribers)
        self.subscribers = subscribers

    def start_worker(self, *, concurrency: int = 1, **extra: str | None) -> subprocess.Popen:
        """A worker on the mail and ingest queues (planner ticks are ingest tasks); stopped at the end."""
        self._workers += 1
        log = self.workdir / f"worker-{self._workers}.log"
        return self.stack.enter_context(
            celery_worker(
                queues="ingest,mail",
                concurrency=concurrency,
                env=self.env(WORKER_APP, **extra),
                log_path=log,
                hostname=f"faults-{self._workers}-{free_port()}@%h",
            )
        )

    def start_sweeper(self) -> subprocess.Popen:
        log = open(self.workdir / "sweeper.log", "ab")  # noqa: SIM115 - owned by the process
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "tests.faults.driver", "sweep", "--every", str(SWEEP_EVERY),
                "--stale-after", str(STALE_AFTER), "--sending-timeout", str(SENDING_TIMEOUT),
            ],
            cwd=ROOT, env=process_env(**self.env(DRIVER_APP)), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        self.stack.callback(stop_process_group, proc)
        return proc

    def driver(self, *args: str, timeout: float = 60) -> str:
        """Run the driver to its end; its output."""
        done = subprocess.run(
            [sys.executable, "-m", "tests.faults.driver", *args],
            cwd=ROOT,
            env=process_env(**self.env(DRIVER_APP)),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, f"driver {args} failed:\n{done.stdout}\n{done.stderr[-3000:]}"
        return done.stdout

    def run_in_background(self, *cmd: str, name: str, **extra: str | None) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the process
        proc = subprocess.Popen(
            [sys.executable, *cmd],
            cwd=ROOT,
            env=process_env(**self.env(DRIVER_APP, **extra)),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.stack.callback(stop_process_group, proc)
        return proc

    def plan(self) -> int:
        out = self.driver("plan", "--now", self.now_iso)
        return int(out.split("PLANNED", 1)[1].split()[0])

    def wait_until_final(self, *, timeout: float = 75) -> dict[str, int]:
        """Until every row of the case is final (no planned or sending row left)."""

        def _done():
            counts = final_counts()
            total = sum(counts.values())
            busy = counts.get(Status.PLANNED, 0) + counts.get(Status.SENDING, 0)
            return counts if total >= self.subscribers and busy == 0 else None

        try:
            return wait_for(_done, timeout=timeout, interval=0.5, message=f"{self.name}: every row final")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; rows {final_counts()}; logs in {self.workdir}") from None

    def assert_nothing_more_is_sent(self, *, wait: float = 2.5) -> None:
        """A later beat tick plans nothing and the sweeper re-sends nothing (unknown stays unknown)."""
        before = (self.provider.messages, final_counts())
        assert self.plan() == 0, "a second planner tick planned rows again"
        time.sleep(wait)  # a few sweeper passes
        after = (self.provider.messages, final_counts())
        assert after == before, f"something moved after the run was over: {before} -> {after}"

    def tally(self) -> Tally:
        result = tally(self.name, self.provider, self.edition_date)
        result.seconds = time.monotonic() - self.started
        return result


class HookedProvider(PostmarkServer):
    """The provider calls `on_accepted(n)` after it took the messages of its n-th successful call and
    before it answers: a fault injected there lands between the provider's acceptance and the
    worker's record of it."""

    on_accepted: Callable[[int], None] | None = None

    def reset(self) -> None:
        super().reset()
        self.accepted_calls = 0

    def handle(self, path: str, body: bytes):
        status, answer, headers, hang = super().handle(path, body)
        if status == 200 and self.on_accepted is not None:
            with self._lock:
                self.accepted_calls += 1
                number = self.accepted_calls
            self.on_accepted(number)
        return status, answer, headers, hang


class BackendTerminator:
    """A thread that terminates the workers' database connections every `every` seconds."""

    def __init__(self, every: float) -> None:
        self.every = every
        self.terminated = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.terminated += terminate_backends()

    def __enter__(self) -> BackendTerminator:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


__all__ = [
    "HEADER",
    "BackendTerminator",
    "FaultCase",
    "HookedProvider",
    "RedisProcess",
    "Tally",
    "terminate_backends",
]
