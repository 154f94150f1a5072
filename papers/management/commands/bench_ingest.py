"""Benchmark: the 1,163-item arXiv feed over loopback HTTP, full ingest against feedparser's bare parse.

Target: full ingest (fetch + parse + upsert + tag) <= 1.5x feedparser's bare parse, and a second
ingest of the unchanged feed writes 0 rows.

Each round runs in a transaction that is rolled back, on an empty papers table, so the figures are
a first ingest and the database is left as it was. The loopback server answers without ETag or
Last-Modified so that the re-ingest goes through parse and upsert rather than stopping at a 304.
Queries are not logged (DEBUG's query log is not what production pays for).
"""

import io
import json
import statistics
import time
from datetime import timedelta
from pathlib import Path

import feedparser
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings

from papers.ingest import source_fetch
from papers.models import Paper, PaperSighting, PaperTopic, Source, Topic
from testsupport.http import LoopbackServer, Response

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "feeds" / "arxiv-rss-cs-large.xml"
_PAPER_TABLES = tuple(model._meta.db_table for model in (Paper, PaperSighting, PaperTopic))


class _Rollback(Exception):
    pass


def _writes(queries) -> int:
    """INSERT/UPDATE/DELETE statements that touched papers, sightings or paper topics."""
    count = 0
    for query in queries:
        sql = query["sql"].lstrip().upper()
        if sql.startswith(("INSERT", "UPDATE", "DELETE")) and any(t.upper() in sql for t in _PAPER_TABLES):
            count += 1
    return count


class Command(BaseCommand):
    help = "Time feedparser's bare parse against a full ingest of the 1,163-item feed over loopback HTTP."

    def add_arguments(self, parser):
        parser.add_argument("--rounds", type=int, default=3, help="best of N (default 3)")
        parser.add_argument("--file", default=str(FIXTURE), help="an RSS file to serve instead")

    def handle(self, *args, **options):
        body = Path(options["file"]).read_bytes()
        rounds = max(1, options["rounds"])
        bare = [self._time(lambda: feedparser.parse(io.BytesIO(body))) for _ in range(rounds)]
        bare_unsanitized = [
            self._time(
                lambda: feedparser.parse(io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False)
            )
            for _ in range(rounds)
        ]
        with (
            LoopbackServer() as server,
            override_settings(DEBUG=False, PAPERS_ARXIV_MIN_INTERVAL=0),
        ):
            server.route(
                "/rss/cs",
                Response(200, body, headers={"Content-Type": "application/rss+xml; charset=utf-8"}),
            )
            results = [self._round(server.url("/rss/cs")) for _ in range(rounds)]

        full = [r["full"] for r in results]
        best_bare, best_full = min(bare), min(full)
        figures = {
            "items": results[0]["fetched"],
            "topics": Topic.objects.filter(active=True).count(),
            "bare_parse_s": round(best_bare, 4),
            "bare_parse_unsanitized_s": round(min(bare_unsanitized), 4),
            "full_ingest_s": round(best_full, 4),
            "ratio": round(best_full / best_bare, 3),
            "full_ingest_median_s": round(statistics.median(full), 4),
            "new": results[0]["new"],
            "topics_assigned": results[0]["topics_assigned"],
            "reingest_s": round(min(r["reingest"] for r in results), 4),
            "reingest_rows_written": max(r["reingest_rows"] for r in results),
            "reingest_write_statements": max(r["reingest_writes"] for r in results),
            "rounds": rounds,
            "database": connection.vendor,
        }
        self.stdout.write(f"items:                  {figures['items']} ({figures['topics']} active topics)")
        self.stdout.write(f"feedparser bare parse:  {best_bare:.3f}s (best of {rounds})")
        self.stdout.write(f"  same, sanitizer off:  {figures['bare_parse_unsanitized_s']:.3f}s")
        self.stdout.write(
            f"full ingest (fetch+parse+upsert+tag): {best_full:.3f}s "
            f"(median {figures['full_ingest_median_s']:.3f}s), {figures['new']} new papers, "
            f"{figures['topics_assigned']} topic assignments"
        )
        verdict = "OK" if figures["ratio"] <= 1.5 else "over target"
        self.stdout.write(f"ratio full / bare:      {figures['ratio']:.2f}x (target <= 1.5x: {verdict})")
        self.stdout.write(
            f"re-ingest, unchanged:   {figures['reingest_s']:.3f}s, "
            f"{figures['reingest_rows_written']} rows written, "
            f"{figures['reingest_write_statements']} write statements (target 0)"
        )
        self.stdout.write(json.dumps(figures))

    @staticmethod
    def _time(function) -> float:
        start = time.perf_counter()
        function()
        return time.perf_counter() - start

    def _round(self, url: str) -> dict:
        figures: dict = {}
        try:
            with transaction.atomic():
                # An empty table inside a transaction that is rolled back: nothing is lost.
                Paper.objects.all().delete()
                source = Source.objects.create(
                    name="Benchmark",
                    slug="bench-ingest",
                    kind=Source.Kind.ARXIV_RSS,
                    url=url,
                    enabled=False,
                    fetch_interval=timedelta(hours=1),
                )
                start = time.perf_counter()
                report = source_fetch(source=source)
                figures["full"] = time.perf_counter() - start
                figures["fetched"] = report.counts.fetched
                figures["new"] = report.counts.new
                figures["topics_assigned"] = PaperTopic.objects.count()

                before = self._row_state()
                with CaptureQueriesContext(connection) as queries:
                    start = time.perf_counter()
                    source_fetch(source=source)
                    figures["reingest"] = time.perf_counter() - start
                after = self._row_state()
                figures["reingest_rows"] = sum(abs(after[k] - before[k]) for k in before) + after["touched"]
                figures["reingest_writes"] = _writes(queries.captured_queries)
                raise _Rollback
        except _Rollback:
            pass
        return figures

    @staticmethod
    def _row_state() -> dict[str, int]:
        latest = Paper.objects.order_by("-updated_at").values_list("updated_at", flat=True).first()
        return {
            "papers": Paper.objects.count(),
            "sightings": PaperSighting.objects.count(),
            "paper_topics": PaperTopic.objects.count(),
            # Papers updated after the first ingest finished (updated_at is set on every write).
            "touched": Paper.objects.filter(updated_at__gt=latest).count() if latest else 0,
        }
