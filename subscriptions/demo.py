"""Demo data for `manage.py seed_demo`; must be idempotent.

Four confirmed readers in different time zones, hours and topics, so the newsletter demo has
someone to send digests to. Runs after the papers demo has created the topics.
"""

from django.utils import timezone

from papers.models import Topic

from .models import ConsentRecord, Subscriber
from .tokens import manage_url

DEMO_SUBSCRIBERS = [
    {
        "email": "ada@example.com",
        "timezone": "Europe/London",
        "delivery_hour": 7,
        "frequency": Subscriber.Frequency.DAILY,
        "topics": ["quantization", "efficient-attention", "llm-reasoning"],
    },
    {
        "email": "grace@example.com",
        "timezone": "America/New_York",
        "delivery_hour": 8,
        "frequency": Subscriber.Frequency.DAILY,
        "topics": ["code-llms", "agents"],
        "keywords": "SWE-bench, program repair",
    },
    {
        "email": "kenji@example.com",
        "timezone": "Asia/Tokyo",
        "delivery_hour": 6,
        "frequency": Subscriber.Frequency.WEEKLY,
        "delivery_weekday": 0,
        "topics": ["vision-language", "diffusion", "robot-learning"],
    },
    {
        "email": "amara@example.com",
        "timezone": "Africa/Lagos",
        "delivery_hour": 18,
        "frequency": Subscriber.Frequency.DAILY,
        "topics": ["alignment", "interpretability", "ai-safety"],
    },
]


def seed(*, stdout) -> None:
    created_count = 0
    for spec in DEMO_SUBSCRIBERS:
        fields = {k: v for k, v in spec.items() if k not in ("email", "topics")}
        subscriber, created = Subscriber.objects.get_or_create(
            email=spec["email"],
            defaults={**fields, "status": Subscriber.Status.ACTIVE, "confirmed_at": timezone.now()},
        )
        if not created:
            continue
        created_count += 1
        topics = list(Topic.objects.filter(slug__in=spec["topics"], active=True))
        subscriber.topics.set(topics)
        ConsentRecord.objects.create(
            subscriber=subscriber,
            action=ConsentRecord.Action.DEMO,
            form_version="demo",
            topics=sorted(t.slug for t in topics),
            preferences=fields,
            confirmed_at=subscriber.confirmed_at,
        )
    total = Subscriber.objects.filter(email__in=[s["email"] for s in DEMO_SUBSCRIBERS]).count()
    stdout.write(f"Demo subscribers: {total} ({created_count} new), e.g. {DEMO_SUBSCRIBERS[0]['email']}")


def reader_manage_link() -> tuple[str, str] | None:
    """(address, working manage link) of the first demo reader still on file, for seed_demo to print."""
    emails = [spec["email"] for spec in DEMO_SUBSCRIBERS]
    readers = {s.email: s for s in Subscriber.objects.filter(email__in=emails)}
    for email in emails:
        if email in readers:
            return email, manage_url(readers[email])
    return None
