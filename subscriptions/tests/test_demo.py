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


def test_the_printed_manage_link_opens_the_first_demo_readers_page(client, settings):
    settings.SITE_URL = "http://127.0.0.1:8311"
    TopicFactory(slug="quantization")
    demo.seed(stdout=io.StringIO())
    email, link = demo.reader_manage_link()
    assert email == "ada@example.com"
    assert link.startswith("http://127.0.0.1:8311/manage/")
    page = client.get(link.removeprefix(settings.SITE_URL))
    assert page.status_code == 200 and "ada@example.com" in page.content.decode()

    Subscriber.objects.filter(email="ada@example.com").delete()  # a reader erased from the admin
    assert demo.reader_manage_link()[0] == demo.DEMO_SUBSCRIBERS[1]["email"]
