"""The digest as a mail client shows it: rendered by headless Chromium, light and dark, saved under
test-artifacts/ for people to look at."""

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from newsletter.composing import render_digest, select_papers_for, trending_strip_for
from testsupport.browser import launched_chromium

from .digest_data import paper, subscriber, topics

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def digest_html() -> str:
    quant, code, agents = topics()
    now = timezone.now()
    # The day's big papers, outside this reader's topics: they reach them in the "Trending today" strip.
    for title, upvotes, comments in (
        ("Agents That Book Their Own Compute: A Field Study", 312, 41),
        ("One Diffusion Model for Every Weather Map", 241, 18),
        ("Why Scaling Laws Bend: Evidence From 4,000 Runs", 203, 27),
    ):
        paper(
            (agents, 1.5),
            title=title,
            hf_upvotes=upvotes,
            hf_comments=comments,
            seen=now - timedelta(hours=4),
        )
    paper(
        (quant, 2.0),
        title="BitDistill: Four-Bit Weights Without Losing the Plot",
        authors=["Mei Lin", "Jonas Weber", "Aisha Bello", "Tomás Ruiz", "Yuki Sato"],
        abstract=(
            "We show that large language models can be distilled into four-bit weights with less than "
            "half a point of accuracy lost on reasoning benchmarks. The trick is a per-channel scale "
            r"learned jointly with a small teacher signal, which keeps \textit{outliers} in check without "
            r"mixed precision in $O(n \log n)$ time. Kernels for consumer GPUs reach $3.1\times$ the "
            r"throughput of fp16 at 62.5\% of the memory, with $\alpha = 2^{-4}$."
        ),
        hf_upvotes=184,
        hf_comments=12,
        code_url="https://github.com/example/bitdistill",
        hf_url="https://huggingface.co/papers/2604.01234",
        featured=True,
        seen=now - timedelta(hours=3),
    )
    paper(
        (code, 1.5),
        (quant, 0.5),
        title=r"\textsc{RepairBench}: Small Code Models That Repair Their Own Tests in $O(n^2)$ Steps",
        authors=["Priya Nair", "Sam O'Neil"],
        abstract="A 1.3B-parameter code model learns to run, read and fix its failing unit tests. " * 3,
        hf_upvotes=57,
        seen=now - timedelta(hours=5),
    )
    paper(
        (quant, 1.0),
        title="<script>alert('x')</script>Outlier-Aware Rounding for KV Caches",
        authors=["R. Kumar"],
        abstract="Rounding the key-value cache to three bits keeps long-context quality (outliers in fp8).",
        seen=now - timedelta(hours=7),
    )
    reader = subscriber(quant, code, keywords="kv cache")
    edition = date(2026, 4, 28)
    papers = select_papers_for(reader, edition_date=edition)
    trending = trending_strip_for(reader, edition_date=edition)
    return render_digest(
        subscriber=reader, papers=papers, edition_date=edition, delivery_id=1234, trending=trending
    ).html


@pytest.mark.browser
@pytest.mark.django_db
def test_digest_screenshots_light_and_dark():
    html = digest_html()
    ARTIFACTS.mkdir(exist_ok=True)
    with launched_chromium() as browser:
        shots = {}
        for scheme in ("light", "dark"):
            page = browser.new_page(viewport={"width": 760, "height": 900})
            page.emulate_media(color_scheme=scheme)
            page.set_content(html, wait_until="load")
            # The laid-out card respects the 600px maximum and the colours follow the scheme.
            width = page.evaluate("document.querySelector('.container').getBoundingClientRect().width")
            background = page.evaluate("getComputedStyle(document.querySelector('.card')).backgroundColor")
            title_colour = page.evaluate("getComputedStyle(document.querySelector('.paper-title a')).color")
            assert width <= 600
            shots[scheme] = (background, title_colour)
            assert page.evaluate("document.querySelectorAll('script').length") == 0
            assert page.locator(".paper-title a").count() == 3
            # LaTeX reads as text: no command and no $…$ left, italics where the source had them.
            shown = page.inner_text("body")
            assert "\\" not in shown and "$" not in shown, shown
            assert "O(n²) Steps" in shown and "O(n log n)" in shown and "3.1×" in shown
            assert page.locator(".abstract em").first.inner_text() == "outliers"
            assert page.locator(".trending-paper a").count() == 3
            assert page.locator(".trending-title").is_visible()
            page.screenshot(path=str(ARTIFACTS / f"digest-{scheme}.png"), full_page=True)
            page.close()
    assert shots["light"][0] == "rgb(255, 255, 255)"
    assert shots["dark"][0] == "rgb(39, 39, 42)"
    assert shots["light"][1] != shots["dark"][1]
    assert (ARTIFACTS / "digest-light.png").stat().st_size > 10_000
    assert (ARTIFACTS / "digest-dark.png").stat().st_size > 10_000
