"""The pictures README shows, made from the demo a newcomer gets with `make run`: the signup page with
the default topics, and a demo reader's digest of the bundled real papers, in headless Chromium.

They are written to test-artifacts/ on every run; `make screenshots` copies them to docs/img/.
"""

import io

import pytest
from django.core.management.base import OutputWrapper
from django.utils import timezone

import papers.demo
import subscriptions.demo
from newsletter.composing import render_digest, select_papers_for, trending_strip_for
from newsletter.planning import local_edition
from papers.default_topics import DEFAULT_TOPICS
from subscriptions.models import Subscriber
from testsupport.defaults import default_topics_and_sources
from testsupport.processes import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ARTIFACTS = ROOT / "test-artifacts"
DEMO_READER = "ada@example.com"
DIGEST_TOP = {"x": 0, "y": 0, "width": 760, "height": 1100}


def _seed_demo() -> None:
    default_topics_and_sources()  # an earlier transactional test (any order) may have flushed them
    quiet = OutputWrapper(io.StringIO())
    papers.demo.seed(stdout=quiet)
    subscriptions.demo.seed(stdout=quiet)


def _demo_digest_html() -> tuple[str, int]:
    reader = Subscriber.objects.get(email=DEMO_READER)
    edition = local_edition(timezone.now(), reader.timezone)[0]
    chosen = select_papers_for(reader, edition_date=edition)
    trending = trending_strip_for(reader, edition_date=edition)
    digest = render_digest(subscriber=reader, papers=chosen, edition_date=edition, trending=trending)
    return digest.html, len(chosen)


def test_readme_pictures_of_the_signup_page_and_a_demo_digest(chromium, live_server):
    _seed_demo()
    ARTIFACTS.mkdir(exist_ok=True)

    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Get trending papers in your email inbox"
    topic_boxes = page.locator("input[name=topics]")
    assert topic_boxes.count() == len(DEFAULT_TOPICS)
    page.screenshot(path=str(ARTIFACTS / "readme-signup.png"), full_page=True)
    page.close()

    html, papers_shown = _demo_digest_html()
    assert papers_shown >= 5  # the demo reader's topics match the bundled day
    page = chromium.new_page(viewport={"width": 760, "height": 900})
    page.set_content(html, wait_until="load")
    assert page.locator(".paper-title a").count() == papers_shown
    # The top of the digest: its headline and the first papers, as a mail client opens it.
    page.screenshot(path=str(ARTIFACTS / "readme-digest.png"), clip=DIGEST_TOP)
    page.close()

    for name in ("readme-signup.png", "readme-digest.png"):
        assert (ARTIFACTS / name).stat().st_size > 20_000, name
