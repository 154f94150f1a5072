"""Subscribers, what they chose, and the consent they gave."""

import secrets

from django.db import models
from django.db.models.functions import Lower

from papers.models import Topic


def _new_token_key() -> str:
    return secrets.token_urlsafe(16)


class Subscriber(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending confirmation"
        ACTIVE = "active", "Active"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        SUPPRESSED = "suppressed", "Suppressed (bounce or complaint)"

    class Frequency(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"

    class Ranking(models.TextChoices):
        # How the digest orders the reader's papers (newsletter.ranking says how each one weighs).
        BALANCED = "balanced", "Balanced: my topics, with what the community is discussing moved up"
        DISCUSSED = "discussed", "Most discussed first"
        TOPICS = "topics", "Closest to my topics first"

    # Stored normalised (see subscriptions.services); unique case-insensitively.
    email = models.EmailField(max_length=254)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    topics = models.ManyToManyField(Topic, blank=True, related_name="subscribers")
    keywords = models.TextField(blank=True, help_text="Free-text keywords that boost matching papers.")
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.DAILY)
    delivery_hour = models.PositiveSmallIntegerField(default=7, help_text="Local hour, 0-23.")
    # Weekly digests go out on this local weekday (0 = Monday).
    delivery_weekday = models.PositiveSmallIntegerField(default=0)
    timezone = models.CharField(max_length=64, default="UTC")
    paused = models.BooleanField(default=False)
    ranking = models.CharField(max_length=12, choices=Ranking.choices, default=Ranking.BALANCED)
    # A "Trending today" strip above the reader's papers: the day's most-upvoted papers, any topic.
    trending_strip = models.BooleanField(default=True)
    # Authors the reader follows, by name as they wrote them (subscriptions.seeds): on the row, so a
    # chunk of deliveries has them with its subscribers and selection needs no query for them.
    followed_authors = models.JSONField(default=list, blank=True)

    # Secret mixed into manage/unsubscribe link signatures; rotating it revokes every link.
    token_key = models.CharField(max_length=64, default=_new_token_key)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    suppressed_at = models.DateTimeField(null=True, blank=True)
    suppressed_reason = models.CharField(max_length=200, blank=True)
    last_confirmation_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="subscriber_email_unique_ci"),
        ]
        indexes = [models.Index(fields=["status", "paused", "frequency"])]

    def __str__(self) -> str:
        return self.email


class ConsentRecord(models.Model):
    """What a person agreed to, when and from where. Read-only evidence.

    A `signup` record also carries the preferences asked for: confirming applies them, so an
    unconfirmed signup never changes an existing subscriber. `confirmed_at` marks the record whose
    confirmation link was used; a used link cannot be replayed.
    """

    class Action(models.TextChoices):
        SIGNUP = "signup", "Signed up"
        RESUBSCRIBE = "resubscribe", "Resubscribed"
        UNSUBSCRIBE = "unsubscribe", "Unsubscribed"
        ADMIN = "admin", "Confirmation sent by an admin"
        DEMO = "demo", "Demo data"

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="consents", null=True, blank=True
    )
    action = models.CharField(max_length=20, choices=Action.choices, default=Action.SIGNUP)
    created_at = models.DateTimeField(auto_now_add=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    form_version = models.CharField(max_length=40)
    topics = models.JSONField(default=list, blank=True, help_text="Topic slugs chosen.")
    consent_text = models.TextField(blank=True)
    # frequency, delivery_hour, delivery_weekday, timezone, keywords chosen with the topics.
    preferences = models.JSONField(default=dict, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        when = f"{self.created_at:%Y-%m-%d %H:%M}" if self.created_at else "not saved"
        return f"{self.get_action_display()}, {when}"


class PaperFeedback(models.Model):
    """A reader's "more like this" (+1) or "less like this" (-1) on a paper from their digest.

    One row per (subscriber, paper): a second click on the same link changes nothing, a click on
    the other link of the pair changes the answer. Re-ranks the reader's next digests.
    """

    class Value(models.IntegerChoices):
        MORE = 1, "More like this"
        LESS = -1, "Less like this"

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="paper_feedback")
    paper = models.ForeignKey("papers.Paper", on_delete=models.CASCADE, related_name="reader_feedback")
    value = models.SmallIntegerField(choices=Value.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = "paper feedback"
        verbose_name_plural = "paper feedback"
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "paper"], name="paperfeedback_subscriber_paper_unique"
            ),
            models.CheckConstraint(condition=models.Q(value__in=[1, -1]), name="paperfeedback_value_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_value_display()}: paper {self.paper_id}"


class SuppressedAddress(models.Model):
    """An address that bounced for good or complained, remembered after its subscriber was erased.

    Only a keyed hash of the address is kept (subscriptions.suppression), and when it was suppressed:
    no reason text, which may quote the address. A signup for it is then answered like any other and
    sends nothing, so an erased address is never mailed again, not even a confirmation.
    """

    address_hash = models.CharField(max_length=64, unique=True)
    suppressed_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "suppressed addresses"

    def __str__(self) -> str:
        return f"suppressed address {self.address_hash[:12]}…"
