"""Benchmark: every admin page at production size (what is timed and how: benchmarks/admin.py)."""

import json

from django.core.management.base import BaseCommand, CommandError

from benchmarks.admin import AdminBenchOptions, BenchError, run_admin_benchmark


class Command(BaseCommand):
    help = (
        "Build (or reuse) bench_digests' data set with D days of sent digests and their provider events, "
        "then time every admin page as staff (median of 5 after a warm-up); print one JSON line. "
        "Postgres only; use a database of its own."
    )

    def add_arguments(self, parser):
        parser.add_argument("--subscribers", type=int, default=100_000)
        parser.add_argument("--history-days", type=int, default=30)
        parser.add_argument("--topics", type=int, default=30)
        parser.add_argument("--papers", type=int, default=3000)

    def handle(self, *args, **options):
        if options["subscribers"] < 1 or options["history_days"] < 0:
            raise CommandError("--subscribers must be at least 1 and --history-days at least 0")
        bench = AdminBenchOptions(
            subscribers=options["subscribers"],
            history_days=options["history_days"],
            topics=options["topics"],
            papers=options["papers"],
        )
        try:
            result = run_admin_benchmark(bench, log=lambda line: self.stderr.write(line))
        except BenchError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(result))
