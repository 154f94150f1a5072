"""Offline evaluation of the digest's order on the dev set (benchmarks/ranking.py says what is measured)."""

import json

from django.core.management.base import BaseCommand

from benchmarks.ranking import format_table, run


class Command(BaseCommand):
    help = "Topic precision@10 and upvote share@10 of the old and new digest orders on the dev set."

    def add_arguments(self, parser):
        parser.add_argument(
            "--weights", default="", help="also the balanced order at these trending weights (e.g. 1,2,3,4)"
        )

    def handle(self, *args, **options):
        weights = [float(w) for w in options["weights"].split(",") if w.strip()]
        rows = run(weights=weights)
        for line in format_table(rows):
            self.stdout.write(line)
        self.stdout.write(json.dumps(dict(rows)))
