"""Plan and send digests now, in this process, through the same services as the workers."""

from collections import Counter
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from newsletter.composing import digest_selection_for, render_digest
from newsletter.models import Delivery
from newsletter.planning import deliveries_plan, local_edition
from newsletter.sending import deliveries_send
from subscriptions.models import Subscriber
from subscriptions.selectors import receives_digests


class Command(BaseCommand):
    help = (
        "Plan the digests that are due and send them now. --date plans that edition for every active "
        "subscriber whatever their hour; --subscriber limits it to one address (its hour ignored). "
        "Running it again sends nothing new."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="edition date YYYY-MM-DD (default: each subscriber's today)")
        parser.add_argument("--subscriber", metavar="EMAIL", help="only this subscriber")
        parser.add_argument("--dry-run", action="store_true", help="show what would be sent; write nothing")

    def handle(self, *args, **options):
        edition_date = self._parse_date(options["date"])
        subscriber, dry_run = options["subscriber"], options["dry_run"]
        subscriber_ids = None
        if subscriber:
            found = Subscriber.objects.filter(email__iexact=subscriber.strip()).first()
            if found is None:
                raise CommandError(f"no subscriber with the address {subscriber!r}")
            if not receives_digests(found):
                raise CommandError(f"{found.email} is {found.get_status_display().lower()}; nothing to send")
            subscriber_ids = [found.pk]
            if dry_run:
                return self._preview(found, edition_date)

        now = timezone.now()
        plan = deliveries_plan(
            now=now,
            subscriber_ids=subscriber_ids,
            edition_date=edition_date,
            ignore_hour=subscriber_ids is not None,
            dry_run=dry_run,
        )
        if dry_run:
            self.stdout.write(f"Would plan {plan.created} digest(s) for {self._dates(plan.edition_dates)}.")
            return

        # Everything still planned for those dates: this run's rows and any left by an earlier one.
        pending = Delivery.objects.filter(status=Delivery.Status.PLANNED, edition_date__in=plan.edition_dates)
        if subscriber_ids is not None:
            pending = pending.filter(subscriber_id__in=subscriber_ids)
        ids = list(pending.order_by("pk").values_list("pk", flat=True))
        self.stdout.write(f"Planned {plan.created} new digest(s); sending {len(ids)}.")

        totals: Counter = Counter()
        with tqdm(total=len(ids), unit="digest", file=self.stderr, disable=not ids) as progress:
            for chunk, report in deliveries_send(delivery_ids=ids, now=now):
                for name in ("sent", "skipped", "failed", "unknown", "suppressed", "not_claimed"):
                    totals[name] += getattr(report, name)
                totals["to retry"] += len(report.retry_ids)
                for error in report.errors[:1]:
                    tqdm.write(f"  {error}", file=self.stderr)
                progress.update(len(chunk))
        summary = (
            ", ".join(f"{totals[k]} {k.replace('_', ' ')}" for k in totals if totals[k]) or "nothing to do"
        )
        self.stdout.write(self.style.SUCCESS(f"Done: {summary}."))
        if totals["to retry"]:
            self.stdout.write(
                "Rows left planned after provider errors are retried by the sweeper (or run again)."
            )

    def _preview(self, subscriber: Subscriber, edition_date: date | None) -> None:
        today = edition_date or local_edition(timezone.now(), subscriber.timezone)[0]
        selection = digest_selection_for(subscriber, edition_date=today)
        papers = selection.papers.get(subscriber.pk, [])
        trending = selection.trending.get(subscriber.pk, [])
        liked = selection.liked.get(subscriber.pk, ())
        rendered = render_digest(
            subscriber=subscriber, papers=papers, edition_date=today, trending=trending, liked=liked
        )
        exists = Delivery.objects.filter(subscriber=subscriber, edition_date=today).first()
        self.stdout.write(f"To: {subscriber.email}  edition {today}")
        if exists:
            self.stdout.write(f"(already {exists.status} for that date: nothing would be sent)")
        self.stdout.write(f"Subject: {rendered.subject}" if papers else "Nothing new: would be skipped.")
        for n, paper in enumerate(papers, 1):
            self.stdout.write(f"  {n}. {paper.title_text[:100]}")

    @staticmethod
    def _parse_date(value: str | None) -> date | None:
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise CommandError(f"--date must look like 2026-04-28, not {value!r}") from None

    @staticmethod
    def _dates(dates) -> str:
        return ", ".join(str(d) for d in sorted(dates)) or "no date (nobody is due)"
