"""Scheduling and the real worker path: fetch_due_sources fans out; a failing source stops no other."""

import pytest
from django.utils import timezone

from papers.models import Paper, Source
from papers.sources import sources_claim_due
from papers.tasks import fetch_source
from papers.tests.conftest import feed_bytes
from testsupport.http import Response
from testsupport.processes import celery_worker, wait_for

CL = "arxiv-rss-cs.CL-2026-02-02.xml"


@pytest.mark.django_db
def test_due_sources_are_claimed_once():
    Source.objects.update(enabled=False)  # the default sources point at the internet
    from papers.tests.factories import SourceFactory

    due = SourceFactory(next_fetch_at=None)
    SourceFactory(next_fetch_at=timezone.now() + timezone.timedelta(hours=1))
    SourceFactory(enabled=False)
    assert sources_claim_due() == [due.pk]
    assert sources_claim_due() == []  # the next beat tick does not enqueue it again


@pytest.mark.django_db
def test_a_failing_source_records_its_error_and_the_others_still_land(serve_feed):
    broken = serve_feed("/broken", "arxiv_rss", responses=Response(503, b"down"))
    good = serve_feed("/good", "arxiv_rss", feed_bytes(CL))
    assert fetch_source(broken.pk) == Source.Status.ERROR
    assert fetch_source(good.pk) == Source.Status.OK
    broken.refresh_from_db()
    assert broken.last_error and broken.consecutive_failures == 1
    assert Paper.objects.count() == 86


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_real_worker_fetches_a_source_end_to_end(serve_feed, loopback, tmp_path):
    source = serve_feed("/rss/cs.CL", "arxiv_rss", feed_bytes(CL))
    with celery_worker(
        queues="ingest", env={"PAPERS_ARXIV_MIN_INTERVAL": "0"}, log_path=tmp_path / "worker.log"
    ):
        fetch_source.delay(source.pk)

        def fetched():
            source.refresh_from_db()
            return source.last_status != Source.Status.NEVER

        wait_for(fetched, timeout=60, message="the worker to fetch the source")
    assert source.last_status == Source.Status.OK, (tmp_path / "worker.log").read_text()[-3000:]
    assert source.last_counts["new"] == 86 and Paper.objects.count() == 86
    assert len(loopback.requests_to("/rss/cs.CL")) == 1


@pytest.mark.django_db
def test_fetch_due_sources_enqueues_one_task_per_due_source_after_commit(django_capture_on_commit_callbacks):
    from papers.tasks import fetch_due_sources
    from papers.tests.factories import SourceFactory

    Source.objects.update(enabled=False)
    SourceFactory(next_fetch_at=None)
    SourceFactory(next_fetch_at=timezone.now() - timezone.timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert fetch_due_sources() == 2
    assert len(callbacks) == 2
