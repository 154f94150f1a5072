"""bench_admin: every admin page timed at production size.

The data set is bench_digests' (subscribers, topics, papers; benchmarks.digests.dataset), plus
`history_days` of daily digests already sent to every subscriber (bench_digests' history rows) and the
provider events they brought back: every digest delivered, 30% opened, 5% clicked (a paper's link),
0.2% hard-bounced, 0.02% complained. A marker source records that the history of that length is in
place, so a second run with the same parameters reuses it.

Before timing, the admin's roll-ups are refreshed as beat does every 10 minutes (the dashboard's daily
figures, the Today page's reader counts). Then a staff session (the test client, in process: the whole
Django request, middleware and templates, without a socket) loads the index, every change list plain,
with each of its filters (the first choice after "All") and with a search, one change page per model,
the dashboard and the Today page: one warm-up load, then the median of five.
"""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass
from datetime import timedelta
from html import unescape
from urllib.parse import urlsplit

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from benchmarks.digests.dataset import (
    BENCH_DOMAIN,
    DatasetSpec,
    dataset_ensure,
    dataset_ready,
    foreign_subscribers,
)
from benchmarks.digests.runner import _delete_bench_deliveries, _insert_history
from newsletter import dashboard, today
from newsletter.models import DailyFigures, Dashboard, Delivery, ProviderEvent
from papers.models import Source
from subscriptions.models import Subscriber

STAFF_USERNAME = "bench-admin"
RUNS = 5  # timed loads per page, after one warm-up
# A search each list can answer with rows: the bench data's own words.
SEARCH_TERMS = {
    "subscriber": "reader12",
    "consentrecord": "reader12",
    "delivery": "reader12@bench.invalid",
    "paper": "diffusion",
    "providerevent": "bench:clicked:140",
}
_EVENT_PREFIX = "bench:"


class BenchError(Exception):
    pass


@dataclass(frozen=True)
class AdminBenchOptions:
    subscribers: int
    history_days: int
    topics: int = 30
    papers: int = 3000
    seed: int = 7


def _history_marker(options: AdminBenchOptions, spec: DatasetSpec) -> str:
    # "bench-data-" so that bench_digests' dataset_drop removes it along with the data it describes.
    return f"bench-data-admin-h{options.history_days}-{spec.key}"[:100]


def _drop_events() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {ProviderEvent._meta.db_table} WHERE event_id LIKE %s",  # noqa: S608 - _meta
            [_EVENT_PREFIX + "%"],
        )


def _drop_history() -> None:
    _drop_events()
    _delete_bench_deliveries()
    Source.objects.filter(slug__startswith="bench-data-admin-").delete()


def _insert_events() -> int:
    """Provider events for every benchmark delivery, in one INSERT … SELECT per kind."""
    table, deliveries, subscribers = (
        ProviderEvent._meta.db_table,
        Delivery._meta.db_table,
        Subscriber._meta.db_table,
    )
    kinds = [
        # (event type, outcome, which deliveries, minutes after sending, url)
        ("delivered", "counted", "TRUE", 1, "''"),
        ("opened", "counted", "d.id %% 10 < 3", 90, "''"),
        (
            "clicked",
            "counted",
            "d.id %% 20 = 0",
            95,
            "'https://arxiv.org/abs/bench.' || lpad((d.id %% 3000)::text, 6, '0')",
        ),
        ("bounced", "suppressed", "d.id %% 500 = 7", 2, "''"),
        ("complained", "suppressed", "d.id %% 5000 = 11", 300, "''"),
    ]
    inserted = 0
    with connection.cursor() as cursor:
        for kind, outcome, which, minutes, url in kinds:
            cursor.execute(
                f"INSERT INTO {table} (event_id, esp_name, event_type, delivery_id, message_id, url, "  # noqa: S608
                "occurred_at, received_at, reject_reason, outcome) "
                f"SELECT %s || d.id, 'Postmark', %s, d.id, '', {url}, "
                f"d.sent_at + interval '{minutes} minutes', d.sent_at + interval '{minutes} minutes', '', %s "
                f"FROM {deliveries} d JOIN {subscribers} s ON s.id = d.subscriber_id "
                f"WHERE s.email LIKE %s AND d.sent_at IS NOT NULL AND {which}",
                [f"{_EVENT_PREFIX}{kind}:", kind, outcome, "%@" + BENCH_DOMAIN],
            )
            inserted += cursor.rowcount
    return inserted


def _vacuum() -> None:
    tables = [m._meta.db_table for m in (Delivery, ProviderEvent, Subscriber)]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")


def dataset_with_history(options: AdminBenchOptions, *, log=print) -> None:
    if connection.vendor != "postgresql":
        raise BenchError("bench_admin needs Postgres (its history is inserted with INSERT … SELECT)")
    if foreign_subscribers():
        raise BenchError("this database has real subscribers; run the benchmark on a database of its own")
    spec = DatasetSpec(options.subscribers, options.topics, options.papers, options.seed)
    started = time.perf_counter()
    if not dataset_ready(spec):
        _drop_events()  # bench_digests' drop deletes deliveries by raw SQL: their events go first
    built = dataset_ensure(spec, log=lambda m: log(f"  data set: {m}"))
    log(f"data set {spec.key}: {'built' if built else 'reused'} in {time.perf_counter() - started:.1f}s")
    marker = _history_marker(options, spec)
    if not built and Source.objects.filter(slug=marker).exists():
        log("history and provider events: reused")
        return
    started = time.perf_counter()
    with transaction.atomic():
        _drop_history()
        history = _insert_history(options.history_days)
        events = _insert_events()
        Source.objects.create(
            slug=marker, name=f"Benchmark history {marker}", kind=Source.Kind.RSS_ATOM,
            url="https://bench.invalid/history", enabled=False, fetch_interval=timedelta(days=365),
        )  # fmt: skip
    _vacuum()
    log(f"history: {history} deliveries, {events} provider events in {time.perf_counter() - started:.1f}s")


def _staff_client() -> Client:
    user, _ = get_user_model().objects.get_or_create(
        username=STAFF_USERNAME,
        defaults={"is_staff": True, "is_superuser": True, "email": "bench@bench.invalid"},
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client


_FILTER_BLOCK = re.compile(r'<details data-filter-title="[^"]*"[^>]*>(.*?)</details>', re.S)
_HREF = re.compile(r'href="(\?[^"]*)"')
_CHANGE_LINK = re.compile(r'<(?:th|td) class="field-[^"]*"><a href="([^"]+/change/[^"]*)"')


def _pages(client: Client) -> dict[str, str]:
    """{page name: URL}: every change list plain, filtered and searched, a change page of each model,
    the dashboard and the Today page."""
    pages = {"index": reverse("admin:index")}
    for model, model_admin in sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label):
        if model is Dashboard:
            continue
        meta = model._meta
        name = f"{meta.app_label}.{meta.model_name}"
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        pages[name] = url
        html = client.get(url).content.decode()
        for n, block in enumerate(_FILTER_BLOCK.findall(html)):
            choices = _HREF.findall(block)
            if len(choices) > 1:
                pages[f"{name}?filter{n + 1}"] = url + unescape(choices[1])
        if model_admin.search_fields:
            pages[f"{name}?q"] = f"{url}?q={SEARCH_TERMS.get(meta.model_name, 'bench')}"
        change = _CHANGE_LINK.search(html)
        if change:
            pages[f"{name}/change"] = urlsplit(unescape(change.group(1))).path
    pages["dashboard"] = reverse("admin:newsletter_dashboard_changelist")
    pages["today"] = reverse("admin:paperboy_today")
    return pages


def _median_ms(client: Client, url: str) -> float:
    response = client.get(url)  # warm-up
    if response.status_code != 200:
        raise BenchError(f"{url} answered {response.status_code}")
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def run_admin_benchmark(options: AdminBenchOptions, *, log=print) -> dict:
    dataset_with_history(options, log=log)
    started = time.perf_counter()
    DailyFigures.objects.all().delete()  # a backfill of the whole window: none describes this data yet
    days = dashboard.figures_refresh(days=dashboard.DEFAULT_DAYS)
    today.refresh_reader_topic_sets()
    refresh_ms = round((time.perf_counter() - started) * 1000)
    log(f"roll-ups (as beat): {days} day(s) in {refresh_ms} ms")
    client = _staff_client()
    timed = {}
    for name, url in _pages(client).items():
        timed[name] = _median_ms(client, url)
        log(f"  {timed[name]:>9.1f} ms  {name}  {url}")
    index_ms = timed.pop("index")
    slowest = max(timed, key=timed.get)
    return {
        "subscribers": Subscriber.objects.filter(email__endswith="@" + BENCH_DOMAIN).count(),
        "deliveries": _estimate(Delivery),
        "provider_events": _estimate(ProviderEvent),
        "index_ms": index_ms,
        "pages": timed,
        "slowest_page": slowest,
        "slowest_over_index": round(timed[slowest] / index_ms, 2),
        "refresh_ms": refresh_ms,
    }


def _estimate(model) -> int:
    """Rows in the table by Postgres' statistics (fresh after the VACUUM ANALYZE)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [model._meta.db_table])
        return int(cursor.fetchone()[0])
