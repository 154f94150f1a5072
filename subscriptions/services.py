"""Writes on subscribers: signup, confirmation, preferences, leaving, and personal data.

Every function takes keyword-only arguments and is safe to call twice (a second call changes nothing
or does the same thing again). Emails are enqueued after the transaction commits; nothing here does
network I/O inside a transaction.

Subscriber states:

    (new) --signup--> pending --confirm--> active --unsubscribe--> unsubscribed
                         |                   |  ^                     |  |
                         |                   |  '---resubscribe-------'  '--signup + confirm--> active
                         |                   '--suppress (bounce, complaint)--> suppressed (final)
                         '--unconfirmed for PURGE_UNCONFIRMED_AFTER_DAYS--> deleted (subscriptions.retention)

Erasing a suppressed subscriber keeps a keyed hash of the address (subscriptions.suppression): a
later signup for it is answered like any other and mails nothing.

A signup never changes an existing subscriber's preferences: what was asked for is kept on the
consent record and applied only when its confirmation link is used.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from papers.models import Topic

from . import tasks
from .addresses import address_key, normalise_email
from .conf import email_interval, link_request_interval, setting
from .models import ConsentRecord, Subscriber
from .seeds import Seeds, followed_authors, subscriber_set_seeds
from .signals import personal_data_erasing, personal_data_exporting
from .suppression import is_suppressed_address, remember_suppressed

_USER_AGENT_MAX = 500  # ConsentRecord.user_agent max_length
_REASON_MAX = 200  # Subscriber.suppressed_reason max_length


class SubscriptionError(Exception):
    """A request that is well-formed but not allowed in the subscriber's current state."""


class ConfirmationAlreadyUsed(SubscriptionError):
    """The confirmation link was used before, or is older than a later unsubscribe."""


class SubscriberSuppressed(SubscriptionError):
    """The address bounced or complained: Paperboy never mails it again."""


class SignupOutcome(enum.StrEnum):
    """What a signup did. Never shown to the person: every outcome gets the same page."""

    CONFIRMATION_SENT = "confirmation_sent"
    MANAGE_LINK_SENT = "manage_link_sent"
    EMAIL_LIMITED = "email_limited"  # an email went to this address less than EMAIL_INTERVAL ago
    SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class Preferences:
    """What a subscriber chose. Validated by the forms; services trust the types, not the source."""

    topics: tuple[Topic, ...]
    frequency: str = Subscriber.Frequency.DAILY
    delivery_hour: int = 7
    delivery_weekday: int = 0
    timezone: str = "UTC"
    keywords: str = ""
    ranking: str = Subscriber.Ranking.BALANCED
    trending_strip: bool = True

    def digest_fields(self) -> dict[str, Any]:
        """How the digest is laid out: chosen on the manage page only (signup keeps the defaults)."""
        return {"ranking": str(self.ranking), "trending_strip": self.trending_strip}

    def scalar_fields(self) -> dict[str, Any]:
        return {
            "frequency": str(self.frequency),
            "delivery_hour": self.delivery_hour,
            "delivery_weekday": self.delivery_weekday,
            "timezone": self.timezone,
            "keywords": self.keywords,
        }


def _find_by_address(address: str, *, lock: bool = False) -> Subscriber | None:
    queryset = Subscriber.objects.alias(email_key=Lower("email")).filter(email_key=address_key(address))
    if lock:
        queryset = queryset.select_for_update()
    return queryset.first()


def _claim_email_slot(subscriber: Subscriber, *, now, force: bool = False, interval=None) -> bool:
    """Take this address's one email per EMAIL_INTERVAL; False when one went out more recently.

    A conditional UPDATE, so two processes signing up one address at once cannot both win.
    """
    queryset = Subscriber.objects.filter(pk=subscriber.pk)
    if not force:
        cutoff = now - (email_interval() if interval is None else interval)
        queryset = queryset.filter(
            Q(last_confirmation_sent_at__isnull=True) | Q(last_confirmation_sent_at__lte=cutoff)
        )
    claimed = queryset.update(last_confirmation_sent_at=now) == 1
    if claimed:
        subscriber.last_confirmation_sent_at = now
    return claimed


def subscriber_signup(
    *,
    email: str,
    preferences: Preferences,
    ip_address: str | None,
    user_agent: str,
    form_version: str,
    consent_text: str,
    seeds: Seeds | None = None,
) -> SignupOutcome:
    """Ask for a subscription; the owner of the address decides by email.

    New, pending and unsubscribed addresses get a confirmation email (their choices wait on a consent
    record); an active address gets a "manage your subscription" email; a suppressed one gets
    nothing. At most one email per address per EMAIL_INTERVAL. Raises InvalidAddress.
    """
    address = normalise_email(email)
    now = timezone.now()
    with transaction.atomic():
        subscriber = _find_by_address(address, lock=True)
        if subscriber is None and is_suppressed_address(address):
            return SignupOutcome.SUPPRESSED  # erased, but it bounced or complained: never mail it
        created = False
        if subscriber is None:
            try:
                with transaction.atomic():
                    # A new row takes the address's email slot as it is inserted (no UPDATE).
                    subscriber = Subscriber.objects.create(
                        email=address,
                        status=Subscriber.Status.PENDING,
                        last_confirmation_sent_at=now,
                        **preferences.scalar_fields(),
                    )
                    subscriber.topics.add(*preferences.topics)  # a new row has none: no SELECT first
                    created = True
            except IntegrityError:
                # Another request created this address a moment ago; carry on with that row.
                subscriber = _find_by_address(address, lock=True)
                if subscriber is None:
                    raise
        if subscriber.status == Subscriber.Status.SUPPRESSED:
            return SignupOutcome.SUPPRESSED
        if not created and not _claim_email_slot(subscriber, now=now):
            return SignupOutcome.EMAIL_LIMITED
        if subscriber.status == Subscriber.Status.ACTIVE:
            tasks.send_manage_link_email.delay_on_commit(subscriber.pk)
            return SignupOutcome.MANAGE_LINK_SENT
        consent = ConsentRecord.objects.create(
            subscriber=subscriber,
            action=ConsentRecord.Action.SIGNUP,
            ip_address=ip_address or None,
            user_agent=(user_agent or "")[:_USER_AGENT_MAX],
            form_version=form_version,
            topics=sorted(topic.slug for topic in preferences.topics),
            # The papers and authors wait with the other choices until the owner confirms.
            preferences={**preferences.scalar_fields(), **(seeds or Seeds()).consent_fields()},
            consent_text=consent_text,
        )
        tasks.send_confirmation_email.delay_on_commit(consent.pk)
    return SignupOutcome.CONFIRMATION_SENT


def subscriber_send_confirmation(*, subscriber: Subscriber) -> bool:
    """Send a pending subscriber a fresh confirmation link now (an admin's resend; no interval).

    Uses their latest unconfirmed signup (the link is signed when the email is built, so it is
    fresh), else records one for their current preferences. False when the subscriber is not pending.
    """
    now = timezone.now()
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.status != Subscriber.Status.PENDING:
            return False
        consent = (
            subscriber.consents.filter(action=ConsentRecord.Action.SIGNUP, confirmed_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        if consent is None:
            consent = ConsentRecord.objects.create(
                subscriber=subscriber,
                action=ConsentRecord.Action.ADMIN,
                form_version="admin",
                topics=sorted(subscriber.topics.values_list("slug", flat=True)),
                preferences=_current_preferences(subscriber),
            )
        _claim_email_slot(subscriber, now=now, force=True)
        tasks.send_confirmation_email.delay_on_commit(consent.pk)
    return True


def _current_preferences(subscriber: Subscriber) -> dict[str, Any]:
    return {
        "frequency": subscriber.frequency,
        "delivery_hour": subscriber.delivery_hour,
        "delivery_weekday": subscriber.delivery_weekday,
        "timezone": subscriber.timezone,
        "keywords": subscriber.keywords,
    }


_CONSENT_PREFERENCE_FIELDS = ("frequency", "delivery_hour", "delivery_weekday", "timezone", "keywords")


def subscriber_confirm(*, subscriber: Subscriber, consent: ConsentRecord) -> Subscriber:
    """Use a confirmation link: the subscriber becomes active with the preferences of that signup.

    Confirming an active subscriber changes nothing (a second click, or an older link). Raises
    ConfirmationAlreadyUsed for a link used before or made before a later unsubscribe, and
    SubscriberSuppressed for a suppressed address.
    """
    now = timezone.now()
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        consent = ConsentRecord.objects.select_for_update().get(pk=consent.pk, subscriber=subscriber)
        if subscriber.status == Subscriber.Status.SUPPRESSED:
            raise SubscriberSuppressed("this address is suppressed")
        if subscriber.status == Subscriber.Status.ACTIVE:
            return subscriber
        if consent.confirmed_at is not None:
            raise ConfirmationAlreadyUsed("this confirmation link was used before")
        if subscriber.unsubscribed_at and consent.created_at <= subscriber.unsubscribed_at:
            raise ConfirmationAlreadyUsed("this confirmation link is older than the unsubscribe")
        chosen = consent.preferences or {}
        for field in _CONSENT_PREFERENCE_FIELDS:
            if field in chosen:
                setattr(subscriber, field, chosen[field])
        if Seeds.in_consent(chosen):
            subscriber_set_seeds(subscriber=subscriber, seeds=Seeds.from_consent(chosen))
        subscriber.status = Subscriber.Status.ACTIVE
        subscriber.confirmed_at = now
        subscriber.paused = False
        subscriber.save()
        subscriber.topics.set(Topic.objects.filter(slug__in=consent.topics or [], active=True))
        consent.confirmed_at = now
        consent.save(update_fields=["confirmed_at"])
        tasks.send_welcome_email.delay_on_commit(subscriber.pk)  # once, on the step to active
    return subscriber


def subscriber_unsubscribe(*, subscriber: Subscriber, reason: str) -> Subscriber:
    """Stop all mail to the subscriber at once. Idempotent; a suppressed subscriber stays suppressed."""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.status in (Subscriber.Status.UNSUBSCRIBED, Subscriber.Status.SUPPRESSED):
            return subscriber
        subscriber.status = Subscriber.Status.UNSUBSCRIBED
        subscriber.unsubscribed_at = timezone.now()
        subscriber.save(update_fields=["status", "unsubscribed_at"])
        ConsentRecord.objects.create(
            subscriber=subscriber,
            action=ConsentRecord.Action.UNSUBSCRIBE,
            form_version="",
            consent_text=reason[:_REASON_MAX],
        )
    return subscriber


def subscriber_suppress(*, subscriber: Subscriber, reason: str) -> Subscriber:
    """Never mail this address again (hard bounce, spam complaint). Idempotent; keeps the first reason."""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.status == Subscriber.Status.SUPPRESSED:
            return subscriber
        subscriber.status = Subscriber.Status.SUPPRESSED
        subscriber.suppressed_at = timezone.now()
        subscriber.suppressed_reason = reason[:_REASON_MAX]
        subscriber.save(update_fields=["status", "suppressed_at", "suppressed_reason"])
    return subscriber


def subscriber_resubscribe(
    *, subscriber: Subscriber, ip_address: str | None, user_agent: str, consent_text: str
) -> Subscriber:
    """Come back from the unsubscribe page: active again with the earlier preferences.

    Holding the link (only ever emailed to the address) proves the mailbox, so no second confirmation
    is asked. Raises SubscriberSuppressed for a suppressed address.
    """
    now = timezone.now()
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.status == Subscriber.Status.SUPPRESSED:
            raise SubscriberSuppressed("this address is suppressed")
        if subscriber.status == Subscriber.Status.ACTIVE:
            return subscriber
        subscriber.status = Subscriber.Status.ACTIVE
        subscriber.confirmed_at = subscriber.confirmed_at or now
        subscriber.save(update_fields=["status", "confirmed_at"])
        ConsentRecord.objects.create(
            subscriber=subscriber,
            action=ConsentRecord.Action.RESUBSCRIBE,
            ip_address=ip_address or None,
            user_agent=(user_agent or "")[:_USER_AGENT_MAX],
            form_version=setting("FORM_VERSION"),
            topics=sorted(subscriber.topics.values_list("slug", flat=True)),
            preferences=_current_preferences(subscriber),
            consent_text=consent_text,
            confirmed_at=now,
        )
    return subscriber


def subscriber_update_preferences(
    *, subscriber: Subscriber, preferences: Preferences, paused: bool, seeds: Seeds | None = None
) -> Subscriber:
    """Save what the manage page sent, with the papers and authors the reader gave (subscriptions.seeds).
    Status is untouched: preferences never re-activate anyone."""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        for field, value in {**preferences.scalar_fields(), **preferences.digest_fields()}.items():
            setattr(subscriber, field, value)
        subscriber.paused = paused
        if seeds is not None:
            subscriber_set_seeds(subscriber=subscriber, seeds=seeds)
        subscriber.save()
        subscriber.topics.set(preferences.topics)
    return subscriber


def subscriber_revoke_links(*, subscriber: Subscriber) -> Subscriber:
    """Invalidate every manage, unsubscribe and confirmation link sent so far."""
    Subscriber.objects.filter(pk=subscriber.pk).update(token_key=secrets.token_urlsafe(16))
    subscriber.refresh_from_db(fields=["token_key"])
    return subscriber


def subscriber_request_links(*, email: str) -> None:
    """Someone asked for the links of an address ("Get your manage link"): an active subscriber gets a
    manage-link email, a pending one a fresh confirmation link, anyone else nothing.

    Says nothing about which happened (the caller answers the same whatever the address). At most one
    manage-link email per address per LINK_REQUEST_INTERVAL_MINUTES, and a pending address no more
    confirmation emails than signing up again gives it (EMAIL_INTERVAL_HOURS). Raises InvalidAddress.
    """
    address = normalise_email(email)
    now = timezone.now()
    with transaction.atomic():
        subscriber = _find_by_address(address, lock=True)
        if subscriber is None or subscriber.status not in (
            Subscriber.Status.ACTIVE,
            Subscriber.Status.PENDING,
        ):
            return
        consent = None
        if subscriber.status == Subscriber.Status.PENDING:
            consent = subscriber.consents.filter(confirmed_at__isnull=True).order_by("-created_at").first()
            if consent is None:
                return
        # A pending address may be a stranger's typed into the signup form: it gets no more
        # confirmation emails through this form than through signing up again.
        interval = email_interval() if consent is not None else link_request_interval()
        if not _claim_email_slot(subscriber, now=now, interval=interval):
            return
        if consent is None:
            tasks.send_manage_link_email.delay_on_commit(subscriber.pk)
        else:
            tasks.send_confirmation_email.delay_on_commit(consent.pk)


def subscriber_send_manage_link(*, subscriber: Subscriber) -> None:
    """Email a fresh manage link now (after the subscriber revoked their old ones)."""
    tasks.send_manage_link_email.delay_on_commit(subscriber.pk)


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def subscriber_export_data(*, subscriber: Subscriber) -> dict[str, Any]:
    """Everything Paperboy holds about the subscriber, as JSON-encodable data."""
    subscriber = Subscriber.objects.prefetch_related("topics", "consents").get(pk=subscriber.pk)
    data: dict[str, Any] = {
        "exported_at": timezone.now().isoformat(),
        "subscriber": {
            "email": subscriber.email,
            "status": subscriber.status,
            "topics": [{"slug": t.slug, "name": t.name} for t in subscriber.topics.all()],
            "keywords": subscriber.keywords,
            "frequency": subscriber.frequency,
            "delivery_hour": subscriber.delivery_hour,
            "delivery_weekday": subscriber.delivery_weekday,
            "timezone": subscriber.timezone,
            "paused": subscriber.paused,
            "ranking": subscriber.ranking,
            "trending_strip": subscriber.trending_strip,
            "followed_authors": followed_authors(subscriber),
            "created_at": _iso(subscriber.created_at),
            "confirmed_at": _iso(subscriber.confirmed_at),
            "unsubscribed_at": _iso(subscriber.unsubscribed_at),
            "suppressed_at": _iso(subscriber.suppressed_at),
            "suppressed_reason": subscriber.suppressed_reason,
            "last_email_about_subscription_at": _iso(subscriber.last_confirmation_sent_at),
        },
        "consent_records": [
            {
                "action": consent.action,
                "created_at": _iso(consent.created_at),
                "confirmed_at": _iso(consent.confirmed_at),
                "ip_address": consent.ip_address,
                "user_agent": consent.user_agent,
                "form_version": consent.form_version,
                "topics": consent.topics,
                "preferences": consent.preferences,
                "consent_text": consent.consent_text,
            }
            for consent in subscriber.consents.all()
        ],
    }
    for receiver, answer in personal_data_exporting.send(sender=Subscriber, subscriber=subscriber):
        if answer is None:
            continue
        key, value = answer
        if key in data:
            raise ImproperlyConfigured(f"{receiver!r} exports under {key!r}, which is already taken")
        data[key] = value
    return data


def subscriber_erase(*, subscriber: Subscriber) -> None:
    """Delete the subscriber and their consent records; other apps scrub their rows first (signal).

    What stays is anonymous: rows other apps keep with no link to a person (e.g. delivery counts),
    and, for a suppressed address, a keyed hash of it so that it is never mailed again
    (subscriptions.suppression). All or nothing: a receiver's failure rolls the erasure back.
    """
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        remember_suppressed(subscriber)
        personal_data_erasing.send(sender=Subscriber, subscriber=subscriber)
        subscriber.consents.all().delete()
        subscriber.delete()
