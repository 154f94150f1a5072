import io

import pytest

from papers.tests.factories import TopicFactory
from subscriptions import demo
from subscriptions.models import Subscriber

pytestmark = pytest.mark.django_db


def test_demo_creates_active_subscribers_in_different_zones_once():
    TopicFactory(slug="quantization")
    TopicFactory(slug="code-llms")
    demo.seed(stdout=io.StringIO())
    demo.seed(stdout=io.StringIO())
    emails = {s["email"] for s in demo.DEMO_SUBSCRIBERS}
    subscribers = Subscriber.objects.filter(email__in=emails)
    assert subscribers.count() == len(emails) >= 3
    assert {s.status for s in subscribers} == {Subscriber.Status.ACTIVE}
    assert len({s.timezone for s in subscribers}) == len(emails)
    assert len({s.delivery_hour for s in subscribers}) == len(emails)
    ada = subscribers.get(email="ada@example.com")
    assert "quantization" in set(ada.topics.values_list("slug", flat=True))
    assert ada.consents.count() == 1
