"""Whatever bytes a feed serves, parsing ends in records or a FeedFormatError, never another exception."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from papers.exceptions import FeedFormatError
from papers.parsing import parse_feed
from papers.tests.conftest import feed_bytes

SMALL_RSS = feed_bytes("arxiv-rss-cs.CL-2026-02-02.xml")[:20_000]
SMALL_JSON = feed_bytes("hf-daily-papers-2026-02-02.json")[:20_000]


def _parse_or_format_error(kind: str, body: bytes) -> None:
    try:
        result = parse_feed(kind, body)
    except FeedFormatError:
        return
    for record in result.records:
        assert record.title and record.guid
        assert "\n" not in record.title


@pytest.mark.parametrize("kind", ["arxiv_rss", "arxiv_api", "rss_atom", "hf_daily"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mangled_feeds_never_crash(kind, data):
    source = SMALL_JSON if kind == "hf_daily" else SMALL_RSS
    start = data.draw(st.integers(0, len(source)))
    end = data.draw(st.integers(start, len(source)))
    junk = data.draw(st.binary(max_size=64))
    _parse_or_format_error(kind, source[:start] + junk + source[end:])


@given(st.binary(max_size=512))
def test_random_bytes_never_crash(body):
    for kind in ("arxiv_rss", "hf_daily"):
        _parse_or_format_error(kind, body)
