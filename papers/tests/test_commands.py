"""fetch_papers and the demo, run as commands."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from papers import demo
from papers.models import Paper, PaperSighting, PaperTopic
from papers.tests.conftest import FEEDS, feed_bytes

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = StringIO()
    call_command("fetch_papers", *args, "--no-progress", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_fetch_papers_file_then_again_prints_a_summary():
    path = str(FEEDS / "arxiv-rss-cs.CL-2026-02-02.xml")
    assert "fetched=86 new=86 updated=0 unchanged=0 skipped=0 errors=0" in _run(
        "--file", path, "--kind", "arxiv_rss"
    )
    assert "fetched=86 new=0 updated=0 unchanged=86" in _run("--file", path, "--kind", "arxiv_rss")


def test_fetch_papers_source_over_http(serve_feed):
    source = serve_feed("/rss", "arxiv_rss", feed_bytes("arxiv-rss-cs.CL-2026-02-02.xml"))
    assert "new=86" in _run("--source", source.slug)


def test_fetch_papers_bad_input_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="--kind"):
        _run("--file", str(FEEDS / "arxiv-api-error.xml"))
    with pytest.raises(CommandError, match="not a readable file"):
        _run("--file", str(tmp_path / "missing.xml"), "--kind", "arxiv_rss")
    with pytest.raises(CommandError, match="every feed failed"):
        _run("--file", str(FEEDS / "arxiv-api-error.xml"), "--kind", "arxiv_api")
    with pytest.raises(CommandError, match="no source"):
        _run("--source", "nope")


def test_demo_is_idempotent():
    demo.seed(stdout=StringIO())
    counts = (Paper.objects.count(), PaperSighting.objects.count(), PaperTopic.objects.count())
    demo.seed(stdout=StringIO())
    assert counts == (Paper.objects.count(), PaperSighting.objects.count(), PaperTopic.objects.count())
    assert counts[0] > 300 and Paper.objects.filter(hf_upvotes__gt=0).count() == 40
