"""Benchmark: plan, compose, send and record digests for a synthetic list with real workers."""

import signal
import sys

from django.core.management.base import BaseCommand, CommandError

from benchmarks.digests.runner import BenchError, BenchOptions, run_benchmark, to_json_line


class Command(BaseCommand):
    help = (
        "Build (or reuse) a synthetic data set and send every subscriber's digest through real Celery "
        "workers to a loopback Postmark API server; print one JSON line of figures. Needs Redis; use a "
        "database of its own (it refuses to run next to real subscribers)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--subscribers", type=int, default=100_000)
        parser.add_argument("--topics", type=int, default=30)
        parser.add_argument("--papers", type=int, default=3000)
        parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
        parser.add_argument("--esp-latency-ms", type=float, default=0.0, help="added to every API call")
        parser.add_argument("--baseline-sample", type=int, help="subscribers in the naive baseline")
        parser.add_argument("--identity-sample", type=int, default=20, help="messages compared byte for byte")
        parser.add_argument("--profile-dir", default="", help="write a cProfile file per worker process here")
        parser.add_argument("--timeout", type=float, default=900.0, help="give up after this many seconds")
        parser.add_argument(
            "--history-days", type=int, default=0, help="earlier daily digests per subscriber (Postgres)"
        )

    def handle(self, *args, **options):
        if options["subscribers"] < 1 or options["topics"] < 1 or options["papers"] < 1:
            raise CommandError("--subscribers, --topics and --papers must be at least 1")
        bench = BenchOptions(
            subscribers=options["subscribers"],
            topics=options["topics"],
            papers=options["papers"],
            workers=max(1, options["workers"]),
            esp_latency_ms=max(0.0, options["esp_latency_ms"]),
            baseline_sample=options["baseline_sample"],
            identity_sample=options["identity_sample"],
            profile_dir=options["profile_dir"],
            timeout=options["timeout"],
            history_days=max(0, options["history_days"]),
        )
        # A SIGTERM unwinds like Ctrl-C, so that the workers and the provider this run started stop too.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        try:
            result = run_benchmark(bench, log=lambda line: self.stderr.write(line))
        except BenchError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(to_json_line(result))
