"""A tiny run of bench_admin: its JSON line, every admin page answered, history and events in place.
(Speed figures are the command's to print; no test here times anything.)"""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from newsletter.models import DailyFigures, Delivery, ProviderEvent


@pytest.mark.slow
@pytest.mark.postgres  # the history and events are written with INSERT … SELECT and generate_series
@pytest.mark.django_db(transaction=True)
def test_bench_admin_times_every_page_and_prints_one_json_line():
    out = StringIO()
    call_command(
        "bench_admin",
        *("--subscribers", "30", "--history-days", "2", "--topics", "5", "--papers", "60"),
        stdout=out,
        stderr=StringIO(),
    )
    (line,) = out.getvalue().strip().splitlines()
    result = json.loads(line)
    assert set(result) >= {
        "subscribers",
        "deliveries",
        "provider_events",
        "index_ms",
        "pages",
        "slowest_page",
    }
    assert result["subscribers"] == 30
    assert Delivery.objects.count() == 60  # two sent digests each
    events = ProviderEvent.objects.filter(event_id__startswith="bench:")
    assert events.filter(event_type="delivered").count() == 60 and events.count() > 60
    pages = result["pages"]
    for name in (
        "dashboard",
        "today",
        "subscriptions.subscriber",
        "subscriptions.subscriber?q",
        "subscriptions.subscriber/change",
        "papers.paper?filter1",
        "newsletter.delivery",
    ):
        assert pages[name] > 0, name  # fmt: skip
    assert result["slowest_page"] in pages
    assert result["slowest_over_index"] == pytest.approx(
        pages[result["slowest_page"]] / result["index_ms"], rel=0.01
    )
    assert DailyFigures.objects.count() == 30  # the dashboard's window, rolled up as beat would
