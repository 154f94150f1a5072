"""Defects the fuzzers in this package found, each pinned by a plain example."""

import pytest
from django.test import Client

from subscriptions.models import ConsentRecord

from .conftest import csrf_token_from
from .hostile import fresh_stamp, queued_after_commit

pytestmark = pytest.mark.django_db


def test_a_topic_sent_twice_is_one_choice_on_the_consent_record(topics):
    browser = Client(enforce_csrf_checks=True)
    data = {
        "csrfmiddlewaretoken": csrf_token_from(browser.get("/")),
        "email": "twice@example.com",
        "topics": ["lowbit", "lowbit", "codegen"],
        "started": fresh_stamp(),
    }
    with queued_after_commit():
        assert browser.post("/", data).status_code == 302
    assert ConsentRecord.objects.get(subscriber__email="twice@example.com").topics == ["codegen", "lowbit"]
