"""Sending keeps within the provider's per-second limits (mailing.ratelimit), shared with every worker."""

import time

import pytest
from django.core import mail

from mailing.ratelimit import RedisTokenBucket
from newsletter.models import Delivery
from newsletter.sending import deliveries_send_chunk
from testsupport.services import TEST_REDIS_URL, require_redis

from .digest_data import paper, subscriber, topics


@pytest.mark.redis
@pytest.mark.django_db
def test_sending_takes_its_messages_from_the_shared_bucket(settings):
    require_redis()
    settings.REDIS_URL = TEST_REDIS_URL
    settings.NEWSLETTER_SEND_RATE_PER_SECOND = 40
    settings.NEWSLETTER_SEND_GROUP_SIZE = 500  # capped by the rate: groups of 40
    quant, _code, _agents = topics()
    paper((quant, 1.0))
    ids = [
        Delivery.objects.create(
            subscriber=subscriber(quant, email=f"r{n}@example.com"), edition_date="2026-04-28"
        ).pk
        for n in range(100)
    ]
    RedisTokenBucket(name="x", rate=1, burst=1, redis_url=TEST_REDIS_URL)._client.delete(
        "paperboy:ratelimit:django.core.mail.backends.locmem.EmailBackend:messages"
    )
    started = time.monotonic()
    report = deliveries_send_chunk(delivery_ids=ids)
    elapsed = time.monotonic() - started
    assert report.sent == 100 and len(mail.outbox) == 100
    # 40 at once (the burst), then 60 more at 40 per second.
    assert elapsed >= 1.4, elapsed
