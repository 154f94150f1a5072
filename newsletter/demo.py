"""Demo data for `manage.py seed_demo`; must be idempotent.

The demo readers (subscriptions.demo) each get today's digest (their local date) as soon as
`make run` starts, whatever their delivery hour: the rows are planned here and one chunk is queued
on the mail queue; the worker honcho starts right after picks it up and writes the messages to
var/outbox/. Running the demo again the same day plans nothing new (one row per reader and date),
so no second copy is sent. From then on the beat schedule plans digests at each reader's own hour.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

import subscriptions.demo
from mailing.outbox import outbox_dir
from subscriptions.selectors import receiving

from .models import Delivery
from .planning import local_edition
from .tasks import send_digest_chunk

# The papers demo may ingest its fixture feeds through the worker; waiting this long before composing
# lets those papers land first, still well within a minute of `make run`.
FIRST_DIGESTS_AFTER_SECONDS = 20


def seed(*, stdout) -> None:
    emails = [spec["email"] for spec in getattr(subscriptions.demo, "DEMO_SUBSCRIBERS", [])]
    readers = receiving().filter(email__in=emails)
    now = timezone.now()
    planned = []
    for reader in readers:
        edition_date = local_edition(now, reader.timezone)[0]
        try:
            with transaction.atomic():
                delivery, created = Delivery.objects.get_or_create(
                    subscriber=reader, edition_date=edition_date
                )
        except IntegrityError:  # planned at the same moment by the beat schedule
            continue
        if created:
            planned.append(delivery.pk)
    folder = outbox_dir()
    where = f"land in {folder}/" if folder else "go out through the configured email backend"
    if planned:
        send_digest_chunk.apply_async(args=[planned], countdown=FIRST_DIGESTS_AFTER_SECONDS)
        stdout.write(
            f"Newsletter demo: {len(planned)} digest(s) queued; they {where} in about "
            f"{FIRST_DIGESTS_AFTER_SECONDS} seconds."
        )
    else:
        stdout.write(f"Newsletter demo: today's demo digests were already planned (they {where}).")
