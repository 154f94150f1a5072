"""Each wire format parsed into PaperRecords with the right fields (no database, no network)."""

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from papers.exceptions import FeedFormatError
from papers.normalise import parse_arxiv_id, parse_doi, split_authors
from papers.parsing import PaperRecord, _storable, parse_feed
from papers.tests.conftest import feed_bytes


def _by_id(result):
    return {record.arxiv_id: record for record in result.records}


def test_arxiv_rss_listing_splits_authors_and_strips_the_announce_prefix():
    result = parse_feed("arxiv_rss", feed_bytes("arxiv-rss-cs.CL-2026-02-02.xml"))
    assert len(result.records) == 86 and not result.errors
    record = _by_id(result)["2601.22181"]
    assert record.title == "MrRoPE: Mixed-radix Rotary Position Embedding"
    assert record.authors == ("Qingyuan Tian", "Wenhong Zhu", "Xiaoran Liu", "Xiaofeng Wang", "Rui Wang")
    assert record.abstract.startswith("Rotary Position Embedding (RoPE)-extension refers to")
    assert "Announce Type" not in record.abstract
    assert record.version == 1 and record.guid == "oai:arXiv.org:2601.22181v1"
    assert record.abs_url == "https://arxiv.org/abs/2601.22181"
    assert record.pdf_url == "https://arxiv.org/pdf/2601.22181"
    assert record.categories[0] == record.primary_category == "cs.CL"
    types = {r.announce_type for r in result.records}
    assert types == {"new", "cross"}


def test_arxiv_api_unwraps_hard_wrapped_titles_and_abstracts():
    result = parse_feed("arxiv_api", feed_bytes("arxiv-api-2026-02-02.xml"))
    assert len(result.records) == 200
    record = _by_id(result)["2601.22160"]
    assert record.title == (
        "Screen, Match, and Cache: A Training-Free Causality-Consistent Reference Frame Framework "
        "for Human Animation"
    )
    assert "\n" not in record.abstract and "  " not in record.abstract
    assert record.abstract.startswith("Human animation aims to generate temporally coherent and visually")
    assert record.authors[:2] == ("Jianan Wang", "Nailei Hei") and len(record.authors) == 8
    assert record.primary_category == "cs.GR" and record.categories == ("cs.GR", "cs.AI")
    assert record.version == 1 and record.published_at.isoformat() == "2026-01-29T19:00:38+00:00"


def test_arxiv_api_error_feed_is_an_error_not_a_paper_called_error():
    with pytest.raises(FeedFormatError, match=r"incorrect id format for 1234\.12345"):
        parse_feed("arxiv_api", feed_bytes("arxiv-api-error.xml"))


def test_hf_daily_papers_reads_inner_and_outer_fields():
    result = parse_feed("hf_daily", feed_bytes("hf-daily-papers-2026-02-02.json"))
    assert len(result.records) == 40
    record = _by_id(result)["2601.23169"]
    assert record.hf_upvotes == 76 and record.hf_comments == 3  # upvotes inside paper, comments outside
    assert record.authors == ("\u0130lker I\u015f\u0131k", "Wenchao Li")  # non-ASCII names intact
    assert record.hf_url == "https://huggingface.co/papers/2601.23169"
    assert record.ai_summary.startswith("Current neural architectures lack")
    with_code = [r for r in result.records if r.code_url]
    assert len(with_code) == 6 and all(r.code_url.startswith("https://github.com/") for r in with_code)


def test_hf_daily_papers_with_optional_fields_missing():
    body = json.dumps(
        [
            {"paper": {"id": "2602.00001", "title": "Bare minimum"}},
            {
                "paper": {
                    "id": "2602.00002",
                    "title": "Odd types",
                    "upvotes": True,
                    "githubRepo": "javascript:x",
                }
            },
            {"paper": {"title": "No id"}},
            "not an object",
        ]
    ).encode()
    result = parse_feed("hf_daily", body)
    bare, odd = result.records
    assert (bare.arxiv_id, bare.hf_upvotes, bare.hf_comments, bare.authors, bare.abstract) == (
        "2602.00001", None, None, (), ""
    )  # fmt: skip
    assert odd.hf_upvotes is None and odd.code_url == ""  # a boolean is no count, javascript: no link
    assert [e.reason for e in result.errors] == ["no arXiv id", "entry is not an object"]


def test_hf_daily_papers_rejects_what_is_not_a_list():
    with pytest.raises(FeedFormatError):
        parse_feed("hf_daily", b'{"error": "rate limited"}')
    with pytest.raises(FeedFormatError):
        parse_feed("hf_daily", b"<html>")


def test_generic_rss_turns_html_into_plain_text_and_finds_arxiv_ids_in_links():
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title>
    <item><title>Why x&lt;y matters</title><link>https://arxiv.org/abs/2601.00042v3</link>
      <description>&lt;p&gt;We show &lt;b&gt;bold&lt;/b&gt; results &amp;amp; more.&lt;/p&gt;
      &lt;script&gt;alert(1)&lt;/script&gt;</description>
      <guid>post-1</guid></item>
    <item><title>A post with a DOI</title><link>https://doi.org/10.1000/ABC.123</link><guid>post-2</guid></item>
    </channel></rss>"""
    first, second = parse_feed("rss_atom", body).records
    assert first.title == "Why x<y matters"
    assert first.abstract == "We show bold results & more."
    assert (first.arxiv_id, first.version) == ("2601.00042", 3)
    assert second.arxiv_id is None and second.doi == "10.1000/abc.123" and second.guid == "post-2"


def test_arxiv_text_keeps_angle_brackets_as_text():
    body = feed_bytes("arxiv-rss-cs.CL-2026-02-02.xml").replace(
        b"<title>MrRoPE: Mixed-radix Rotary Position Embedding</title>",
        b"<title>MrRoPE &lt;script&gt;alert(1)&lt;/script&gt; for x&lt;y</title>",
    )
    record = _by_id(parse_feed("arxiv_rss", body))["2601.22181"]
    assert record.title == "MrRoPE <script>alert(1)</script> for x<y"  # plain text; escaped when shown


def test_not_a_feed_is_a_format_error():
    with pytest.raises(FeedFormatError):
        parse_feed("arxiv_rss", b"<html><body>Service unavailable</body></html>")
    with pytest.raises(FeedFormatError):
        parse_feed("arxiv_rss", b"   ")
    listing = feed_bytes("arxiv-rss-cs.CL-2026-02-02.xml")[:5000]
    for junk in (b"\x00", b"\x80"):  # bytes that break feedparser's encoding detection
        with pytest.raises(FeedFormatError, match="unreadable feed"):
            parse_feed("arxiv_rss", listing[:30] + junk + listing[30:])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("oai:arXiv.org:2601.22161v2", ("2601.22161", 2)),
        ("http://arxiv.org/abs/2601.22160v1", ("2601.22160", 1)),
        ("https://arxiv.org/pdf/2601.22160", ("2601.22160", None)),
        ("hep-th/9901001v3", ("hep-th/9901001", 3)),
        ("https://arxiv.org/abs/math.GT/0309136", ("math.GT/0309136", None)),
        ("0704.0001", ("0704.0001", None)),
        ("no id here", (None, None)),
    ],
)
def test_arxiv_ids_are_version_free(value, expected):
    assert parse_arxiv_id(value) == expected


def test_normalisers():
    assert parse_doi("https://doi.org/10.1145/ABC.def") == "10.1145/abc.def"
    assert split_authors("A. One, B. Two and C. Three") == ["A. One", "B. Two", "C. Three"]


def test_an_arxiv_listing_added_as_a_generic_feed_reads_the_same():
    body = feed_bytes("arxiv-rss-cs.CL-2026-02-02.xml")
    generic = {r.arxiv_id: r for r in parse_feed("rss_atom", body).records}["2601.22181"]
    arxiv = _by_id(parse_feed("arxiv_rss", body))["2601.22181"]
    assert (generic.abstract, generic.authors, generic.title) == (arxiv.abstract, arxiv.authors, arxiv.title)


# What no database column may hold: NUL and the other C0 controls but whitespace, DEL, lone surrogates.
UNSTORABLE = re.compile("[\x00-\x08\x0e-\x1b\x7f\ud800-\udfff]")
_field_text = st.text(
    alphabet=st.sampled_from(
        ["a", "Z", " ", "\t", "\n", "\x00", "\x08", "\x0e", "\x1b", "\x1c", "\x7f", "é", "\ud800"]
    ),
    max_size=12,
)


@given(_field_text, _field_text, _field_text, st.lists(_field_text, max_size=3), st.none() | _field_text)
def test_unstorable_characters_are_dropped_from_every_field_and_nothing_else_changes(
    title, abstract, comment, authors, doi
):
    record = PaperRecord(
        guid="g" + title, title=title, abstract=abstract, comment=comment, doi=doi, authors=tuple(authors)
    )
    stored = _storable(record)
    for name in ("guid", "title", "abstract", "comment", "doi"):
        value = getattr(record, name)
        assert getattr(stored, name) == (UNSTORABLE.sub("", value) if value else value)
    if any(UNSTORABLE.search(author) for author in authors):
        assert stored.authors == tuple(kept for a in authors if (kept := UNSTORABLE.sub("", a)))
    else:
        assert stored.authors == record.authors
    if not any(UNSTORABLE.search(text) for text in (title, abstract, comment, doi or "", *authors)):
        assert stored is record
