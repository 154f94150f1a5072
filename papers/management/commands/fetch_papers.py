"""Fetch sources now, or ingest a local file through the same parse/upsert/tag path."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from papers.ingest import IngestCounts, source_fetch, source_ingest_bytes
from papers.models import Source
from papers.selectors import sources_due
from papers.sources import source_local


class Command(BaseCommand):
    help = (
        "Fetch every enabled source (or --source SLUG, repeatable), or ingest local files with "
        "--file PATH --kind KIND. Prints a progress bar and a summary."
    )

    def add_arguments(self, parser):
        parser.add_argument("--source", action="append", default=[], metavar="SLUG", help="only this source")
        parser.add_argument("--file", action="append", default=[], metavar="PATH", help="a local feed file")
        parser.add_argument("--kind", choices=Source.Kind.values, help="format of --file")
        parser.add_argument("--due", action="store_true", help="only sources whose next fetch is due")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs, cron)")

    def handle(self, *args, **options):
        totals = IngestCounts()
        failures = 0
        jobs = self._file_jobs(options) if options["file"] else self._source_jobs(options)
        bar = tqdm(jobs, unit="feed", disable=options["no_progress"], file=self.stderr, leave=False)
        for label, run in bar:
            bar.set_description(label)
            report = run()
            totals.add(report.counts)
            if report.error:
                failures += report.status == Source.Status.ERROR
                self.stderr.write(f"{label}: {report.status}: {report.error}")
            bar.set_postfix(new=totals.new, updated=totals.updated, errors=totals.errors)
        bar.close()
        self.stdout.write(totals.summary())
        if failures and failures == len(jobs):
            raise CommandError(f"every feed failed ({failures})")

    def _file_jobs(self, options):
        if not options["kind"]:
            raise CommandError("--file needs --kind (one of: " + ", ".join(Source.Kind.values) + ")")
        if len(options["source"]) > 1:
            raise CommandError("--file takes at most one --source to credit the papers to")
        kind = options["kind"]
        if options["source"]:
            source = Source.objects.filter(slug=options["source"][0]).first()
            if source is None:
                raise CommandError(f"no source with slug {options['source'][0]!r}")
        else:
            source = source_local(kind=kind)
        jobs = []
        for name in options["file"]:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"{path} is not a readable file")
            body = path.read_bytes()
            jobs.append(
                (path.name, lambda body=body: source_ingest_bytes(source=source, body=body, kind=kind))
            )
        return jobs

    def _source_jobs(self, options):
        sources = Source.objects.all() if options["source"] else Source.objects.filter(enabled=True)
        if options["source"]:
            sources = sources.filter(slug__in=options["source"])
            missing = set(options["source"]) - set(sources.values_list("slug", flat=True))
            if missing:
                raise CommandError(f"no source with slug {', '.join(sorted(missing))}")
        if options["due"]:
            sources = sources_due(now=timezone.now()).filter(pk__in=sources.values("pk"))
        return [(source.slug, lambda source=source: source_fetch(source=source)) for source in sources]
