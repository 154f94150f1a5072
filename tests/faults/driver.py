"""The enqueueing side of a fault case, run as its own process: planner ticks and the sweeper.

Everything that talks to the broker runs in a subprocess with CELERY_BROKER_URL / REDIS_URL pointing
at the case's own redis-server, so the test process never needs a broker connection (and a Redis
restart cannot leave the test process with a stale producer pool).

    python -m tests.faults.driver plan --now ISO          # what beat's plan_due_digests tick does
    python -m tests.faults.driver beat-ticks --now ISO --times 2
                                                          # queue N plan_due_digests tasks at once
    python -m tests.faults.driver sweep --every 1 --stale-after 4 --sending-timeout 12
                                                          # the sweeper, as beat would run it

The sweeper's thresholds are production's (NEWSLETTER_PLANNED_STALE_MINUTES 5,
NEWSLETTER_SENDING_TIMEOUT_MINUTES 15, every 5 min) scaled down to seconds; the code that runs is the
production code.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

logger = logging.getLogger("faults.driver")


def _setup() -> None:
    import django

    django.setup()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")


def plan(args) -> None:
    from newsletter.tasks import plan_due_digests

    created = plan_due_digests(args.now)  # run here: plans, then queues the chunks
    print(f"PLANNED {created}", flush=True)


def beat_ticks(args) -> None:
    from newsletter.tasks import plan_due_digests

    for _ in range(args.times):
        plan_due_digests.delay(args.now)
    print(f"QUEUED {args.times}", flush=True)


def sweep(args) -> None:
    from django.conf import settings
    from django.db import close_old_connections

    from newsletter.tasks import sweep_deliveries

    # The sweeper's thresholds in seconds rather than minutes: a fault case lasts well under a minute.
    settings.NEWSLETTER_PLANNED_STALE_MINUTES = args.stale_after / 60
    settings.NEWSLETTER_SENDING_TIMEOUT_MINUTES = args.sending_timeout / 60
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        close_old_connections()
        try:
            report = sweep_deliveries()  # the beat task's body, run here: it sweeps and re-queues
        except Exception:
            # Beat would lose this tick too (broker or database down); the next one tries again.
            logger.exception("sweep failed")
        else:
            if report["requeued"] or report["timed_out"] or report["expired"]:
                print(
                    f"SWEEP requeued={report['requeued']} timed_out={report['timed_out']} "
                    f"expired={report['expired']}",
                    flush=True,
                )
        if args.once:
            return
        time.sleep(args.every)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("plan")
    p.add_argument("--now", required=True)
    p.set_defaults(run=plan)
    p = commands.add_parser("beat-ticks")
    p.add_argument("--now", required=True)
    p.add_argument("--times", type=int, default=2)
    p.set_defaults(run=beat_ticks)
    p = commands.add_parser("sweep")
    p.add_argument("--every", type=float, default=1.0)
    p.add_argument("--stale-after", type=float, default=4.0)
    p.add_argument("--sending-timeout", type=float, default=12.0)
    p.add_argument("--once", action="store_true")
    p.set_defaults(run=sweep)
    args = parser.parse_args(argv)
    _setup()
    args.run(args)


if __name__ == "__main__":
    main()
