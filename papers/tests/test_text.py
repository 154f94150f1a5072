"""The shared text rules: what a column can store, feed HTML made plain, shown text, web links, authors."""

import re

from hypothesis import given
from hypothesis import strategies as st

from papers.text import (
    AUTHOR_MAX_CHARS,
    URL_MAX_LENGTH,
    http_url,
    is_storable,
    plain_text,
    short_authors,
    storable,
    text_from_html,
)

# What no column may hold: NUL and the other C0 controls but white space, DEL, lone surrogates.
UNSTORABLE = re.compile("[\x00-\x08\x0e-\x1b\x7f\ud800-\udfff]")
_CHARACTERS = [
    "a", "é", " ", "\t", "\n", "\r", "\x0b", "\x0c", "\x00", "\x08", "\x0e", "\x1b", "\x1c", "\x1f", "\x7f",
    "\ud800", "\udfff", "\u2028", "\xa0",
]  # fmt: skip
_hostile_text = st.text(alphabet=st.sampled_from(_CHARACTERS), max_size=20)


@given(_hostile_text)
def test_storable_text_loses_exactly_the_unstorable_characters(text):
    assert storable(text) == UNSTORABLE.sub("", text)
    assert is_storable(text) == (UNSTORABLE.search(text) is None)
    assert is_storable(storable(text))


def test_storable_keeps_white_space_and_can_mark_what_it_replaced():
    assert storable("a\tb\nc\x1cd") == "a\tb\nc\x1cd"
    assert storable("pm-\x00\ud800-1", replacement="\ufffd") == "pm-\ufffd\ufffd-1"


def test_storable_on_one_line_drops_every_control_character():
    assert storable("id\x00\t1\n\r\x1f\x7f\udc80", one_line=True) == "id1"


def test_text_from_html_strips_real_tags_only():
    assert text_from_html("<p>x &amp; y</p>") == "x & y"
    assert text_from_html("x<y, so a < b and c > d") == "x<y, so a < b and c > d"  # no tag: kept as written


def test_plain_text_is_the_stored_text_on_one_line():
    assert plain_text("The &lt;b&gt; tag, x<y") == "The &lt;b&gt; tag, x<y"  # nothing decoded again
    assert plain_text("Kept\x01 as\n\n  written\x1f.") == "Kept as written."  # controls go, not into spaces
    assert plain_text(" for \x0bLLMs\x0c ") == "for LLMs"
    assert plain_text("lone\ud800 surrogate") == "lone surrogate"
    assert plain_text(None) == plain_text(["a list"]) == ""


def test_plain_text_is_cut_within_its_limit():
    assert plain_text("word " * 10, limit=12) == "word word w…"  # 12 characters, the ellipsis included
    assert plain_text("short", limit=12) == "short"


def test_http_url_accepts_only_absolute_web_links():
    assert http_url(" https://arxiv.org/abs/2601.00001 ") == "https://arxiv.org/abs/2601.00001"
    assert http_url("HTTP://example.com/x") == "HTTP://example.com/x"
    for bad in (
        "javascript:alert(1)", "data:text/html,x", "/relative", "//example.com/x", "http://",
        "https:///no-host", "http://[::1", "http://a b", "http://a\x00b", "http://a\udc80b", "ftp://x",
        "https://x/" + "a" * URL_MAX_LENGTH, None, 42, "",
    ):  # fmt: skip
        assert http_url(bad) == "", bad


def test_short_authors_trusts_nothing_about_the_list():
    assert short_authors(["Ada", "Alan", "Grace", "Edsger"]) == "Ada, Alan, Grace et al."
    assert short_authors(("Ada", "Alan")) == "Ada, Alan"
    assert short_authors(["Ada", " ", "\x01", 7, {"name": "x"}, "Alan"]) == "Ada, Alan"
    assert short_authors("Ada Lovelace") == short_authors(None) == ""
    long_name = short_authors(["N" * 500])
    assert len(long_name) == AUTHOR_MAX_CHARS and long_name.endswith("…")
