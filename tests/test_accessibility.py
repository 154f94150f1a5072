"""The pages a reader meets pass axe-core (the npm accessibility engine) in Chromium with no serious or
critical violation: signup, manage, unsubscribe, the lost-link form and the digest (its web copy).

axe-core comes from the npm registry, pinned in tools/a11y/package-lock.json; `make test` installs it.
The results table (page by violations by impact) is written to test-artifacts/axe-results.md.
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from newsletter.links import digest_token
from newsletter.models import Delivery
from papers.tests.factories import PaperFactory, PaperTopicFactory, TopicFactory
from subscriptions.models import Subscriber
from subscriptions.tests.factories import SubscriberFactory
from subscriptions.tokens import make_link_token
from testsupport.browser import launched_chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "tools" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
IMPACTS = ("critical", "serious", "moderate", "minor")


def _pages(live_url: str) -> dict[str, str]:
    topics = [
        TopicFactory(slug="a11y-quant", name="Quantization", description="Low-bit models."),
        TopicFactory(slug="a11y-code", name="Code LLMs", description="Models that write code."),
    ]
    reader = SubscriberFactory(status=Subscriber.Status.ACTIVE, topics=topics, keywords="kv cache")
    papers = []
    for n, title in enumerate(
        [r"Four-bit weights in $O(n)$ memory", r"\textsc{RepairBench}: code models fix their tests"]
    ):
        paper = PaperFactory(
            title=title,
            abstract=r"We train \textit{sparse autoencoders} at 62.5\% of the cost. " * 4,
            authors=["Mei Lin", "Jonas Weber"],
            hf_upvotes=10 + n,
            code_url="https://github.com/example/repo",
            first_seen_at=timezone.now() - timedelta(hours=2),
        )
        PaperTopicFactory(paper=paper, topic=topics[n], score=1.0)
        papers.append(paper)
    delivery = Delivery.objects.create(
        subscriber=reader,
        edition_date=timezone.localdate(),
        status=Delivery.Status.SENT,
        paper_ids=[p.pk for p in papers],
        sent_at=timezone.now(),
    )
    return {
        "signup": f"{live_url}/",
        "manage": f"{live_url}/manage/{make_link_token(reader, 'manage')}/",
        "unsubscribe": f"{live_url}/unsubscribe/{make_link_token(reader, 'unsubscribe')}/",
        "get your manage link": f"{live_url}/my-links/",
        "digest (web copy)": f"{live_url}/digest/{digest_token(delivery.pk)}/",
    }


def test_reader_pages_have_no_serious_or_critical_axe_violation(live_server, monkeypatch):
    if not AXE.exists():
        # `make test` installs it; CI goes through make test, so there a missing engine is a failure.
        if os.environ.get("CI"):
            pytest.fail("axe-core is missing although this is CI: `make test` should have installed it")
        pytest.skip("axe-core is not installed: `make test` installs it (npm ci --prefix tools/a11y)")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the ORM calls above, not in the loop
    pages = _pages(live_server.url)
    results: dict[str, list] = {}
    with launched_chromium() as browser:
        # The site's CSP allows no injected script (the digest page none at all): axe is a test's.
        context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
        for name, url in pages.items():
            page = context.new_page()
            response = page.goto(url)
            assert response.status == 200, (name, response.status)
            page.add_script_tag(path=str(AXE))
            results[name] = page.evaluate(
                """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
                    .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))"""
            )
            page.close()

    ARTIFACTS.mkdir(exist_ok=True)
    lines = ["| page | " + " | ".join(IMPACTS) + " | rules |", "|---" * (len(IMPACTS) + 2) + "|"]
    for name, violations in results.items():
        counts = [sum(v["nodes"] for v in violations if v["impact"] == impact) for impact in IMPACTS]
        rules = ", ".join(f"{v['id']} ({v['impact']})" for v in violations) or "none"
        lines.append(f"| {name} | " + " | ".join(map(str, counts)) + f" | {rules} |")
    (ARTIFACTS / "axe-results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    grave = {
        name: [v for v in found if v["impact"] in ("critical", "serious")] for name, found in results.items()
    }
    assert grave == {name: [] for name in results}
