"""`__any_of`: the same rows as `__in`, with the list as one parameter on Postgres."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from newsletter.models import Delivery
from subscriptions.models import Subscriber

from .digest_data import subscriber, topics

pytestmark = pytest.mark.django_db


def test_any_of_selects_what_in_selects_on_keys_and_foreign_keys():
    quant, code, _agents = topics()
    readers = [subscriber(quant), subscriber(quant, code), subscriber(code)]
    rows = [Delivery.objects.create(subscriber=r, edition_date="2026-04-28") for r in readers]
    wanted = [rows[0].pk, rows[2].pk, 10**12]  # one id that does not exist
    assert sorted(Delivery.objects.filter(pk__any_of=wanted).values_list("pk", flat=True)) == sorted(
        Delivery.objects.filter(pk__in=wanted).values_list("pk", flat=True)
    )
    through = Subscriber.topics.through
    ids = [readers[1].pk, readers[2].pk]
    assert sorted(
        through.objects.filter(subscriber_id__any_of=ids).values_list("topic_id", flat=True)
    ) == sorted([quant.pk, code.pk, code.pk])
    assert list(Delivery.objects.filter(pk__any_of=[])) == []


def test_any_of_sends_one_parameter_on_postgres_whatever_the_number_of_ids():
    ids = list(range(1, 501))
    with CaptureQueriesContext(connection) as queries:
        list(Delivery.objects.filter(pk__any_of=ids))
    (sql,) = [q["sql"] for q in queries.captured_queries]
    if connection.vendor == "postgresql":
        assert "= ANY(" in sql and " IN (" not in sql  # one array literal, not 500 placeholders
    else:
        assert " IN (" in sql and "500" in sql
