"""The newsletter's own records."""

from django.db import models
from django.db.models import Q


class WorkerHeartbeat(models.Model):
    """Last time a worker ran the periodic heartbeat task (shown by /healthz)."""

    hostname = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.hostname} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"


class WorkerPing(models.Model):
    """A round trip through the broker: created by the web, answered by a worker."""

    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.CharField(max_length=200, blank=True)


class Delivery(models.Model):
    """One digest for one subscriber on one edition date (the date in the subscriber's time zone).

    State machine (the database is the source of truth; the queue is only a nudge):

        planned --claim--> sending --provider accepted--> sent
           |                  |--permanent rejection--> failed
           |                  '--crash / lost answer----> unknown   (sweeper; never re-sent by itself)
           '--nothing to send--> skipped

    The unique (subscriber, edition_date) constraint makes planning idempotent. Only a conditional
    UPDATE from `planned` to `sending` may start a send, so two workers can never both send one row.
    A row in `unknown` is sent again only by a person ("send again" in admin).
    """

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"
        UNKNOWN = "unknown", "Unknown (in flight during a crash)"

    # SET_NULL: deleting a subscriber's data keeps anonymous delivery counts.
    subscriber = models.ForeignKey(
        "subscriptions.Subscriber",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        db_index=False,  # the unique (subscriber, edition_date) index serves lookups by subscriber
    )
    edition_date = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNED)
    paper_ids = models.JSONField(default=list, blank=True, help_text="Papers included, in order.")
    trending_ids = models.JSONField(
        default=list, blank=True, help_text="The papers of its Trending today strip, in order."
    )
    liked_ids = models.JSONField(
        default=list,
        blank=True,
        help_text="Its papers the reader's likes moved up ('like papers you liked'), for its web copy.",
    )
    subject = models.CharField(max_length=300, blank=True)
    skip_reason = models.CharField(max_length=200, blank=True)

    provider_message_id = models.CharField(max_length=200, blank=True)
    # Set by the conditional UPDATE that claims a row (planned -> sending); the claimer then reads back
    # the rows carrying its own token, so a row is only ever sent by the one worker that won it (on
    # Postgres the UPDATE's RETURNING names them; elsewhere they are read back among the claimed ids,
    # so the token needs no index).
    claim_token = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The instant the sending chunk chose its papers, not when this row's group was claimed: the
    # reader's next digest starts its window here (selectors.previous_digest_starts), so a paper that
    # arrives while the chunk is still sending is in the next one. The sweeper's timeout is far above
    # a task's time limit, so a chunk's later groups are never mistaken for stuck ones.
    sending_started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    # Counted from provider events.
    delivered_at = models.DateTimeField(null=True, blank=True)
    opens = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-edition_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "edition_date"], name="delivery_one_per_subscriber_day"
            ),
        ]
        # Every row is written three times a morning (planned, claimed, recorded) and no update can
        # stay within its page's indexes (status changes), so each index costs every write: only the
        # ones a query needs, partial where the query only looks at a few rows.
        indexes = [
            # The sweeper: rows still planned or sending.
            models.Index(
                fields=["status", "updated_at"],
                condition=Q(status__in=["planned", "sending"]),
                name="delivery_unfinished_idx",
            ),
            models.Index(fields=["edition_date", "status"]),
            # The admin's banner of deliveries in doubt: a handful of rows among millions.
            models.Index(fields=["status"], condition=Q(status="unknown"), name="delivery_unknown_idx"),
            # Provider events find their delivery by message id; rows not sent have none.
            models.Index(
                fields=["provider_message_id"],
                condition=Q(provider_message_id__gt=""),
                name="delivery_provider_message_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.pk} ({self.edition_date}, {self.status})"


class ProviderEvent(models.Model):
    """A tracking event from the email provider (via anymail), stored once per event id."""

    event_id = models.CharField(max_length=200, unique=True)
    esp_name = models.CharField(max_length=50)
    event_type = models.CharField(max_length=30, db_index=True)
    delivery = models.ForeignKey(
        Delivery, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    message_id = models.CharField(max_length=200, blank=True)
    url = models.URLField(max_length=2000, blank=True, help_text="Clicked link, for click events.")
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    reject_reason = models.CharField(max_length=50, blank=True)

    class Outcome(models.TextChoices):
        COUNTED = "counted", "Counted on the delivery"
        SUPPRESSED = "suppressed", "Subscriber suppressed"
        UNSUBSCRIBED = "unsubscribed", "Subscriber unsubscribed"
        NOTED = "noted", "Noted only (e.g. a soft bounce)"

    # What the event meant for us; the dashboard's bounce rate counts only bounces that suppressed.
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            # The admin dashboard counts events per type and day.
            models.Index(fields=["event_type", "occurred_at"]),
            # The admin list (newest first, then by id) and the dashboard's month of every event type:
            # without it both read every event ever received (tens of millions a year at 100k readers).
            models.Index(fields=["occurred_at", "id"], name="provider_event_occurred_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.esp_name} {self.event_type} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class Dashboard(Delivery):
    """No data of its own: gives the admin dashboard a place (and a permission) in the admin index."""

    class Meta:
        proxy = True
        verbose_name = "dashboard"
        verbose_name_plural = "dashboard"


class DailyFigures(models.Model):
    """One day's figures for the admin dashboard, rolled up from the raw tables by
    `newsletter.dashboard.figures_refresh` (beat, every 10 minutes: today and yesterday, and any
    missing day of the window), so that the dashboard reads 30 rows, not millions."""

    day = models.DateField(unique=True)
    subscribed = models.PositiveIntegerField(default=0, help_text="Confirmed and not left, at the day's end.")
    signups = models.PositiveIntegerField(default=0)
    confirmed = models.PositiveIntegerField(default=0)
    left = models.PositiveIntegerField(default=0)
    deliveries = models.JSONField(default=dict, blank=True, help_text="{status: rows} of the day's edition.")
    events = models.JSONField(default=dict, blank=True, help_text="{kind: provider events} that day.")
    clicked_urls = models.JSONField(
        default=dict, blank=True, help_text="{url: clicks}, the day's most clicked."
    )
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["-day"]
        verbose_name_plural = "daily figures"

    def __str__(self) -> str:
        return f"Figures of {self.day}"
