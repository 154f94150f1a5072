"""When a reader's digests come, told in their own time zone (the welcome email).

The rule is newsletter.planning's, read from this side of the dependency rule: a digest is due once
the reader's local delivery hour has come on a delivery day (every day, or their weekday), and the
planner, which runs every quarter of an hour, has not made that day's digest yet. A digest due at
once goes out at the planner's next run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .models import Subscriber

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class FirstDigest:
    at: datetime  # local, aware; `now` when the digest is due at once
    due_now: bool
    zone: str

    def describe(self, now: datetime) -> str:
        """How the reader is told: 'today at 07:00', 'tomorrow, Tuesday 9 December, at 07:00', …."""
        if self.due_now:
            return "within the next quarter of an hour"
        today = now.astimezone(self.at.tzinfo).date()
        clock = f"{self.at:%H:%M}"
        day = f"{WEEKDAYS[self.at.weekday()]} {self.at.day} {self.at:%B}"
        if self.at.date() == today:
            return f"today at {clock}"
        if self.at.date() == today + timedelta(days=1):
            return f"tomorrow, {day}, at {clock}"
        return f"on {day} at {clock}"


def zone_of(subscriber: Subscriber) -> ZoneInfo:
    try:
        return ZoneInfo(subscriber.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # what the planner uses for a zone it cannot read


def first_digest(subscriber: Subscriber, *, now: datetime) -> FirstDigest:
    """When the next digest of an active reader goes out, in their time zone."""
    zone = zone_of(subscriber)
    local = now.astimezone(zone)
    weekly = subscriber.frequency == Subscriber.Frequency.WEEKLY
    for days_ahead in range(8):
        day = local.date() + timedelta(days=days_ahead)
        if weekly and day.weekday() != subscriber.delivery_weekday:
            continue
        if days_ahead == 0 and local.hour >= subscriber.delivery_hour:
            return FirstDigest(at=local, due_now=True, zone=zone.key)
        at = datetime.combine(day, time(subscriber.delivery_hour), tzinfo=zone)
        if at > local:
            return FirstDigest(at=at, due_now=False, zone=zone.key)
    raise AssertionError("a delivery day comes within a week")


def schedule_text(subscriber: Subscriber) -> str:
    """'Daily at 07:00' or 'Weekly, on Mondays at 07:00' (the reader's local time)."""
    clock = f"{subscriber.delivery_hour:02d}:00"
    if subscriber.frequency == Subscriber.Frequency.WEEKLY:
        return f"Weekly, on {WEEKDAYS[subscriber.delivery_weekday % 7]}s at {clock}"
    return f"Daily at {clock}"
