"""A digest fits every inbox: Gmail clips an email whose HTML is over 102 KB ("[Message clipped]",
hiding the rest and the unsubscribe link); the fullest 10-paper digest stays under it (54 KB of 104 KB)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from newsletter.assembling import DigestAssembler
from newsletter.models import Delivery
from papers.tests.factories import TopicFactory

from .digest_data import compose_deliveries, paper, subscriber

pytestmark = pytest.mark.django_db

GMAIL_CLIP_BYTES = 102 * 1024  # Gmail clips the HTML part past 102 KB
WORD = "Quantisation-aware"  # long words make the 60-word abstract excerpts as long as they get


def test_the_fullest_ten_paper_digest_stays_under_gmails_clipping_limit():
    chips = [TopicFactory(slug=f"fit-{n}", name=f"Efficient Long-Context Topic {n}") for n in range(6)]
    now = timezone.now()
    # Ten papers in the reader's list and three more in the Trending today strip: the fullest digest.
    for n in range(15):
        paper(
            *[(topic, 1.0 + n) for topic in chips],
            title=(f"Paper {n}: " + "An Extremely Long Title About Low-Bit Inference " * 10)[:400],
            authors=[f"Author With A Long Name Number {k}" for k in range(8)],
            abstract=" ".join([WORD] * 200) + r" with $O(n^2)$ and \textit{italics}",
            hf_upvotes=12345,
            hf_comments=678,
            pdf_url=f"https://arxiv.org/pdf/2611.{n:05d}",
            code_url=f"https://github.com/example-organisation/a-rather-long-repository-name-{n}",
            hf_url=f"https://huggingface.co/papers/2611.{n:05d}",
            featured=n < 2,
            seen=now - timedelta(hours=1),
        )
    reader = subscriber(*chips, keywords="kv cache, low-bit, speculative decoding, mixture of experts")
    delivery = Delivery.objects.create(subscriber=reader, edition_date=timezone.localdate())

    (composed,) = compose_deliveries(
        list(Delivery.objects.filter(pk=delivery.pk).select_related("subscriber")), renderer=DigestAssembler()
    )

    html = composed.message.alternatives[0][0]
    assert len(composed.paper_ids) == 10 and len(composed.trending_ids) == 3
    size = len(html.encode("utf-8"))
    print(f"10-paper digest HTML: {size:,} bytes")
    assert size < GMAIL_CLIP_BYTES, f"{size:,} bytes"  # about half of it today
    assert html.rstrip().endswith("</html>") and "Unsubscribe" in html
