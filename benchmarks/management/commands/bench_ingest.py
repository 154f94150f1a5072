"""Benchmark: the 1,163-item arXiv feed over loopback HTTP, full ingest against feedparser's bare parse
(what is timed and how: benchmarks/ingest.py)."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from benchmarks.ingest import FIXTURE, BenchError, report_lines, run_benchmark


class Command(BaseCommand):
    help = "Time feedparser's bare parse against a full ingest of the 1,163-item feed over loopback HTTP."

    def add_arguments(self, parser):
        parser.add_argument("--rounds", type=int, default=5, help="rounds to run (default 5)")
        parser.add_argument("--file", default=str(FIXTURE), help="an RSS file to serve instead")

    def handle(self, *args, **options):
        try:
            figures = run_benchmark(Path(options["file"]).read_bytes(), rounds=options["rounds"])
        except BenchError as exc:
            raise CommandError(str(exc)) from exc
        for line in report_lines(figures):
            self.stdout.write(line)
        self.stdout.write(json.dumps(figures))
