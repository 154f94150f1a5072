"""Runs the digest benchmark: the real path (plan -> compose -> send -> record) with real Celery
worker processes on Redis, against a loopback Postmark API server running in its own process.

Timing starts when the planning task is queued and stops when every planned row has reached a final
status (sent, skipped, failed or unknown). The naive baseline runs first, in this process, against the
same server; its messages are not counted with the run's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.celery import app as celery_app
from newsletter.composing import render_digest, select_papers_for, trending_strip_for
from newsletter.conf import setting
from newsletter.models import Delivery
from newsletter.planning import delivery_insert_values
from papers.models import Paper, PaperTopic
from subscriptions.models import Subscriber
from testsupport.postmark import worker_env
from testsupport.processes import process_env, stop_process_group, test_database_url

from .baseline import naive_send
from .dataset import BENCH_DOMAIN, DatasetSpec, dataset_ensure, foreign_subscribers, redate_papers

ROOT = Path(__file__).resolve().parents[2]  # the checkout, where the provider and workers start
FINAL = (Delivery.Status.SENT, Delivery.Status.SKIPPED, Delivery.Status.FAILED, Delivery.Status.UNKNOWN)


class BenchError(Exception):
    pass


@dataclass
class BenchOptions:
    subscribers: int = 100_000
    topics: int = 30
    papers: int = 3000
    workers: int = 2
    esp_latency_ms: float = 0.0
    baseline_sample: int | None = None  # default: 2,000 at 0 ms latency, 300 with latency
    identity_sample: int = 20
    timeout: float = 900.0
    profile_dir: str = ""
    seed: int = 7
    history_days: int = 0  # earlier daily digests per subscriber, as a list in production has them


@contextmanager
def postmark_process(latency_ms: float, log_dir: Path, *, sample_every: int):
    """The loopback Postmark server in its own process; yields its base URL."""
    log = open(log_dir / "postmark.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "testsupport.postmark",
            "--latency-ms",
            str(latency_ms),
            "--sample-every",
            str(sample_every),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=log,
        start_new_session=True,
    )
    try:
        line = proc.stdout.readline().decode()
        match = re.match(r"PORT (\d+)", line)
        if not match:
            raise BenchError(f"the Postmark server did not start: {line!r}")
        yield f"http://127.0.0.1:{match.group(1)}/"
    finally:
        stop_process_group(proc)
        log.close()


@contextmanager
def workers(count: int, *, env: dict, log_dir: Path):
    """`count` real Celery workers (prefork, one pool process each) on the mail queue."""
    procs, logs = [], []
    try:
        for n in range(count):
            path = log_dir / f"worker-{n}.log"
            log = open(path, "wb")  # noqa: SIM115 - closed below
            logs.append((path, log))
            cmd = [
                sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "mail", "-c", "1",
                "-P", "prefork", "-n", f"bench{n}-{os.getpid()}@%h", "--without-gossip", "--without-mingle",
                "--without-heartbeat", "-I", "benchmarks.digests.instrument", "-l", "info",
            ]  # fmt: skip
            procs.append(
                subprocess.Popen(
                    cmd, cwd=ROOT, env=process_env(**env), stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )  # fmt: skip
        deadline = time.monotonic() + 60
        for path, _log in logs:
            while b" ready." not in path.read_bytes():
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise BenchError(f"a worker did not start; see {path}")
                time.sleep(0.1)
        yield procs
    finally:
        for proc in procs:
            stop_process_group(proc)
        for _path, log in logs:
            log.close()


def _purge_mail_queue() -> None:
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge("mail")


def _delete_bench_deliveries() -> None:
    """Raw DELETE: the ORM would load 100k rows to cascade nothing (benchmark rows have no events)."""
    delivery, subscriber = Delivery._meta.db_table, Subscriber._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {delivery} WHERE subscriber_id IN "  # noqa: S608 - table names from _meta
            f"(SELECT id FROM {subscriber} WHERE email LIKE %s)",
            ["%@" + BENCH_DOMAIN],
        )


_HISTORY_SUBJECT = "bench history"


def _morning_start() -> date:
    """The earliest edition date this run plans: the local date in the zone furthest behind UTC."""
    return timezone.now().date() - timedelta(days=1)


def _morning_rows():
    """This run's rows: the history the run adds ends the day before the earliest planned date."""
    return Delivery.objects.filter(edition_date__gte=_morning_start())


def _insert_history(days: int) -> int:
    """`days` daily digests already sent to every bench subscriber, ending the day before this morning's
    earliest edition date, each composed at 07:00 UTC of its date. A list in production carries a
    year of these: every read that meets "a reader's deliveries" meets them too."""
    if days <= 0:
        return 0
    if connection.vendor != "postgresql":
        raise BenchError("--history-days needs Postgres")
    last = _morning_start() - timedelta(days=1)
    first = last - timedelta(days=days - 1)
    columns, values = delivery_insert_values(
        Delivery(status=Delivery.Status.SENT, subject=_HISTORY_SUBJECT, attempts=1, paper_ids=[]),
        given=["subscriber", "edition_date", "sending_started_at", "sent_at"],
    )
    placeholders = ", ".join(["%s"] * len(values))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Delivery._meta.db_table} ({columns}) "  # noqa: S608 - names from _meta
            "SELECT s.id, day::date, day + interval '7 hours', day + interval '7 hours', "
            f"{placeholders} FROM {Subscriber._meta.db_table} s, "
            "generate_series(%s::timestamptz, %s::timestamptz, interval '1 day') AS day "
            "WHERE s.email LIKE %s",
            [*values, f"{first.isoformat()} 00:00+00", f"{last.isoformat()} 00:00+00", "%@" + BENCH_DOMAIN],
        )
        return cursor.rowcount


def _vacuum() -> None:
    """Reclaim what the set-up left behind (re-dated papers, deleted deliveries), as autovacuum would
    have in production between two mornings; a table full of dead rows makes every scan slower."""
    if connection.vendor != "postgresql":
        return
    tables = [m._meta.db_table for m in (Paper, PaperTopic, Delivery, Subscriber)]
    tables.append(Subscriber.topics.through._meta.db_table)
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")


def _wait_until_done(total: int, *, provider: httpx.Client, timeout: float) -> float:
    """When every delivery row is final. The rows are the authority, but counting 100k of them ten
    times a second took ~15% of this machine's CPU from the system being measured. The provider's
    message counter is polled instead (a dict read in its own process), and the rows are counted
    once it has a message per subscriber, or once a second (rows that end without a message:
    skipped, failed)."""
    deadline = time.monotonic() + timeout
    counted_at = 0.0
    while True:
        now = time.monotonic()
        if now - counted_at >= 1.0 or provider.get("/_stats").json()["messages"] >= total:
            counted_at = now
            if _morning_rows().filter(status__in=FINAL).count() >= total:
                return time.monotonic()
        if now > deadline:
            counts = dict(_morning_rows().values_list("status").annotate(n=models_count()))
            raise BenchError(f"not finished after {timeout:.0f}s: {counts}")
        time.sleep(0.05)


def models_count():
    from django.db.models import Count

    return Count("id")


def identity_check(samples: list[dict], *, limit: int) -> dict:
    """Compare messages the provider received with the unoptimised composer's output, byte for byte:
    the papers (re-selected by the reference selection) and the subject, HTML and text."""
    checked = identical = 0
    differences: list[str] = []
    for item in samples[:limit]:
        delivery_id = int(item["metadata"].get("delivery_id", 0))
        delivery = Delivery.objects.select_related("subscriber").filter(pk=delivery_id).first()
        if delivery is None or delivery.subscriber is None:
            differences.append(f"no delivery {delivery_id}")
            continue
        checked += 1
        subscriber = delivery.subscriber
        reference_ids = [
            p.pk
            for p in select_papers_for(
                subscriber, edition_date=delivery.edition_date, now=delivery.sending_started_at
            )
        ]
        by_id = {p.pk: p for p in Paper.objects.filter(pk__in=delivery.paper_ids)}
        papers = [by_id[pk] for pk in delivery.paper_ids]
        topics_of = _paper_topics(delivery.paper_ids)
        for p in papers:
            p.digest_topics = topics_of.get(p.pk, [])
        trending = trending_strip_for(
            subscriber, edition_date=delivery.edition_date, now=delivery.sending_started_at
        )
        # From the pool, with their chips, like the chunk path's.
        direct = render_digest(
            subscriber=subscriber,
            papers=papers,
            edition_date=delivery.edition_date,
            delivery_id=delivery.pk,
            trending=trending,
            liked=delivery.liked_ids,
        )
        same = (
            reference_ids == delivery.paper_ids
            and direct.subject == item["subject"]
            and direct.html == item["html"]
            and direct.text == item["text"]
        )
        identical += same
        if not same:
            differences.append(f"delivery {delivery_id} differs")
    return {"checked": checked, "identical": identical, "differences": differences[:5]}


def _paper_topics(paper_ids) -> dict[int, list[str]]:
    from newsletter.selectors import PaperPool  # the reference: chips in the curators' topic order

    papers = Paper.objects.filter(pk__in=paper_ids)
    since = min(p.first_seen_at for p in papers)
    until = max(p.first_seen_at for p in papers)
    pool = PaperPool(since=since, until=until)
    return {pk: pool.papers[pk].digest_topics for pk in paper_ids if pk in pool.papers}


def _timeline(entries: list[bytes], *, start: float, wall: float) -> dict:
    """Where the wall time went: planning, the first chunk's start, each worker process's busy time
    and the CPU time it used (on a machine with other load, busy time grows and CPU time does not)."""
    busy: dict[str, float] = {}
    cpu: dict[str, float] = {}
    plan_s = first_chunk = None
    for entry in entries:
        pid, name, begun, ended, used = entry.decode().split()
        begun, ended = float(begun), float(ended)
        busy[pid] = busy.get(pid, 0.0) + ended - begun
        cpu[pid] = cpu.get(pid, 0.0) + float(used)
        if name.endswith("plan_due_digests"):
            plan_s = round(ended - begun, 2)
        elif first_chunk is None or begun - start < first_chunk:
            first_chunk = begun - start
    return {
        "plan_task_s": plan_s,
        "first_chunk_starts_s": round(first_chunk, 2) if first_chunk is not None else None,
        "busy_s_per_worker": sorted(round(v, 1) for v in busy.values()),
        "cpu_s_per_worker": sorted(round(v, 1) for v in cpu.values()),
        "wall_s": round(wall, 2),
    }


def run_benchmark(options: BenchOptions, *, log=print) -> dict:
    if not settings.REDIS_URL:
        raise BenchError("the benchmark needs Redis (REDIS_URL) for the broker and the shared cache")
    if foreign_subscribers():
        raise BenchError(
            "this database has real subscribers; run the benchmark on a database of its own "
            "(it plans and sends a digest to every active subscriber)"
        )
    spec = DatasetSpec(options.subscribers, options.topics, options.papers, options.seed)
    started = time.perf_counter()
    built = dataset_ensure(spec, log=lambda m: log(f"  data set: {m}"))
    log(f"data set {spec.key}: {'built' if built else 'reused'} in {time.perf_counter() - started:.1f}s")
    now = timezone.now()
    redate_papers(now=now)
    _delete_bench_deliveries()
    history = _insert_history(options.history_days)
    if history:
        log(f"history: {history} earlier digests ({options.history_days} a subscriber)")
    _vacuum()
    _purge_mail_queue()
    run_id = uuid.uuid4().hex[:12]
    rds = redis.Redis.from_url(settings.REDIS_URL)
    latency = options.esp_latency_ms
    baseline_sample = options.baseline_sample or (2000 if latency == 0 else 300)

    with ExitStack() as stack:
        log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-digests-")))
        # About twenty of the run's provider calls (one per NEWSLETTER_SEND_BATCH_SIZE messages) are
        # parsed in full, five messages of each checked; the rest are counted per recipient. Parsing
        # one call in five (as when chunks and calls were one) cost ~1.4 core-seconds per 100k.
        calls = options.subscribers // max(1, setting("SEND_BATCH_SIZE"))
        sample_every = max(1, calls // 20)
        api_url = stack.enter_context(postmark_process(latency, log_dir, sample_every=sample_every))
        control = stack.enter_context(httpx.Client(base_url=api_url, timeout=120))

        sample = list(
            Subscriber.objects.filter(email__endswith="@" + BENCH_DOMAIN).order_by("pk")[:baseline_sample]
        )
        log(f"baseline: {len(sample)} subscribers one at a time")
        baseline = naive_send(
            sample,
            backend="anymail.backends.postmark.EmailBackend",
            backend_options={"api_url": api_url, "server_token": "bench"},
        )
        control.post("/_reset")

        env = {
            "DATABASE_URL": test_database_url(),  # the database this process uses
            **worker_env(api_url),
            "PAPERBOY_BENCH_RUN": run_id,
            # Workers as in production: DEBUG off. With DEBUG on (the laptop default without a
            # SECRET_KEY) Django renders every statement's SQL and keeps the last 9,000 in memory, which
            # costs CPU per chunk and grew a worker by ~140 MB over a 1M run. The key is this process's,
            # so that the identity check below signs the same links.
            "DEBUG": "false",
            "SECRET_KEY": settings.SECRET_KEY,
            "PAPERBOY_BENCH_PROFILE": options.profile_dir or None,
        }
        procs = stack.enter_context(workers(options.workers, env=env, log_dir=log_dir))
        log(f"{len(procs)} workers ready; planning and sending")
        total = Subscriber.objects.filter(status=Subscriber.Status.ACTIVE).count()
        from newsletter.tasks import plan_due_digests

        t0, t0_wall = time.monotonic(), time.time()
        plan_due_digests.delay(timezone.now().isoformat())
        t1 = _wait_until_done(total, provider=control, timeout=options.timeout)
        wall = t1 - t0
        stats = control.get("/_stats", params={"recipients": "1", "samples": "1"}).json()

    statuses = dict(_morning_rows().values_list("status").annotate(n=models_count()))
    per_recipient = stats.pop("per_recipient", {})
    samples = stats.pop("samples", [])
    queries = int(rds.get(f"bench:{run_id}:queries") or 0)
    rss = [int(v) for v in rds.hgetall(f"bench:{run_id}:rss_kb").values()]
    timeline = _timeline(rds.lrange(f"bench:{run_id}:tasks_timeline", 0, -1), start=t0_wall, wall=wall)
    rds.delete(f"bench:{run_id}:queries", f"bench:{run_id}:tasks", f"bench:{run_id}:rss_kb")
    rds.delete(f"bench:{run_id}:tasks_timeline")
    emails = set(Subscriber.objects.filter(status="active").values_list("email", flat=True))
    exactly_once = sum(1 for e in emails if per_recipient.get(e.lower()) == 1)
    identity = identity_check(samples, limit=options.identity_sample)
    sent = statuses.get(Delivery.Status.SENT, 0)
    rate = round(total / wall, 1)
    return {
        "subscribers": total,
        "wall_s": round(wall, 2),
        "digests_per_s": rate,
        "peak_rss_mb": round(max(rss) / 1024, 1) if rss else None,
        "peak_rss_mb_each": sorted(round(kb / 1024, 1) for kb in rss),
        "queries_per_digest": round(queries / total, 4) if total else None,
        "bytes_sent": stats["bytes_received"],
        "workers": options.workers,
        "esp_latency_ms": latency,
        "history_days": options.history_days,
        "sent": sent,
        "statuses": statuses,
        "provider": {
            "messages": stats["messages"],
            "calls": stats["calls"],
            "exactly_once": exactly_once,
            "duplicates": stats["duplicates"],
            "sampled": stats["sampled_messages"],
            "problems": stats["problems"],
        },
        "identical_to_reference": identity,
        "timeline": timeline,
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "speedup": round(rate / baseline["digests_per_s"], 1) if baseline["digests_per_s"] else None,
        "baseline": baseline,
    }


def to_json_line(result: dict) -> str:
    return json.dumps(result, separators=(", ", ": "), ensure_ascii=False)
