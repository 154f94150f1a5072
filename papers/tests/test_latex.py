"""LaTeX in titles and abstracts: converted to Unicode text once per paper, falling back to the source."""

import importlib
import re
import time
from dataclasses import replace
from unittest import mock

import pytest
from django.apps import apps
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from papers import latex
from papers.latex import display_text
from papers.models import Paper
from papers.parsing import PaperRecord, parse_feed
from papers.tests.conftest import feed_bytes
from papers.tests.factories import SourceFactory
from papers.text import EMPHASIS_END, EMPHASIS_START, emphasis_html, plain_text
from papers.upsert import paper_upsert_many

# What must never be left in a converted text: a command, or inline math still between dollars.
LATEX_LEFT_RE = re.compile(r"\\[A-Za-z]+|\$[^$]+\$")


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("$O(n^2)$ attention", "O(n²) attention"),
        (r"Sorting in $O(n \log n)$", "Sorting in O(n log n)"),
        (r"\textsc{FastSort} reaches 62.5\% on $\alpha$-tests", "FastSort reaches 62.5% on α-tests"),
        (r"$x_i^2$, $\mathbb{R}^d$, $10^{-3}$, $\sum_{i=1}^n$", "xᵢ², ℝᵈ, 10⁻³, ∑ᵢ₌₁ⁿ"),
        (r"$\leq$ 2$\times$ faster", "≤ 2× faster"),
        (r"``Quoted'' -- and --- dashes", "“Quoted” – and — dashes"),
        (r"Caf\'e na\"ive \texttt{code}", "Café naïve code"),
        (r"50% of runs & 3 # seeds", "50% of runs & 3 # seeds"),  # meant literally, not as LaTeX
        ("see https://example.org/~ada/a_b now", "see https://example.org/~ada/a_b now"),
        (r"\href{https://example.org}{our code}", "our code"),
        ("Plain text, no LaTeX: x<y & z>w", "Plain text, no LaTeX: x<y & z>w"),
    ],
)
def test_latex_reads_as_unicode_text(source, shown):
    assert display_text(source) == shown


def test_italics_are_marked_and_become_em_in_html_only():
    shown = display_text(r"We train \textit{sparse autoencoders} and \emph{<b>probes</b>}.")
    start, end = EMPHASIS_START, EMPHASIS_END
    assert shown == f"We train {start}sparse autoencoders{end} and {start}<b>probes</b>{end}."
    assert plain_text(shown) == "We train sparse autoencoders and <b>probes</b>."
    assert (
        emphasis_html(shown)
        == "We train <em>sparse autoencoders</em> and <em>&lt;b&gt;probes&lt;/b&gt;</em>."
    )


@pytest.mark.parametrize(
    ("marked", "html"),
    [
        (f"{EMPHASIS_START}cut short", "<em>cut short</em>"),  # a limit cut the run: closed
        (f"stray{EMPHASIS_END} end", "stray end"),
        (f"{EMPHASIS_START}{EMPHASIS_START}nested{EMPHASIS_END}{EMPHASIS_END}", "<em>nested</em>"),
    ],
)
def test_emphasis_html_is_always_balanced(marked, html):
    assert emphasis_html(marked) == html


def test_feed_text_cannot_forge_an_emphasis_marker():
    assert display_text(f"{EMPHASIS_START}not ours{EMPHASIS_END}") == "not ours"
    assert display_text(f"{EMPHASIS_START}$x$") == "x"


@pytest.mark.parametrize(
    "source",
    [
        "{" * 10_000 + "deep" + "}" * 10_000,  # the parser recurses per group
        r"\href{javascript:alert(1)}",  # a macro short of its arguments
        r"\\",
        r"\input{/etc/passwd}",  # converts to nothing: the source is shown
        "$" * 5000,
    ],
)
def test_what_the_parser_cannot_take_falls_back_to_the_source(source):
    started = time.monotonic()
    shown = display_text(source)
    assert time.monotonic() - started < 1
    assert isinstance(shown, str) and shown


def test_a_parser_failure_shows_the_source():
    with mock.patch.object(latex._CONVERTER, "latex_to_text", side_effect=IndexError("boom")):
        assert display_text(r"$O(n^2)$ and \emph{x}") == r"$O(n^2)$ and \emph{x}"


_LATEX_ALPHABET = st.sampled_from(
    ["\\", "{", "}", "$", "^", "_", "%", "&", "#", "~", "textit", "emph", "href", "url", "frac", "begin",
     "end", "<", ">", "\"", "'", "a", "b", " ", "javascript:", "\ue000", "\ue001", "\U000f0000"]
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_LATEX_ALPHABET, max_size=60).map("".join))
def test_any_text_converts_without_error_and_no_markup_comes_out(source):
    shown = display_text(source)
    assert isinstance(shown, str)
    assert "\n" not in shown and "\U000f0000" not in shown
    html = emphasis_html(shown)
    assert "<" not in html.replace("<em>", "").replace("</em>", "")
    assert html.count("<em>") == html.count("</em>")


def test_a_real_arxiv_listing_leaves_no_command_and_no_dollar_math():
    records = parse_feed("arxiv_rss", feed_bytes("arxiv-rss-cs-large.xml")).records
    with_latex = [text for r in records for text in (r.title, r.abstract) if LATEX_LEFT_RE.search(text)]
    assert len(with_latex) > 100  # the listing is LaTeX-heavy: the test means something
    left = [(text, display_text(text)) for text in with_latex if LATEX_LEFT_RE.search(display_text(text))]
    assert left == []


# --- Stored once per paper ------------------------------------------------------------------------


def _record(**fields) -> PaperRecord:
    base = {"guid": "g1", "arxiv_id": "2611.00001", "version": 1, "title": r"$O(n^2)$ attention"}
    return PaperRecord(**{**base, **fields})


@pytest.mark.django_db
def test_ingest_stores_the_display_text_beside_the_source():
    paper_upsert_many(
        source=SourceFactory(), records=[_record(abstract=r"We reach 62.5\% with \emph{no} tricks.")]
    )
    paper = Paper.objects.get()
    assert paper.title == r"$O(n^2)$ attention"  # the source, as the feed wrote it
    assert paper.display_title == "O(n²) attention"
    assert paper.title_text == "O(n²) attention" and paper.abstract_text == "We reach 62.5% with no tricks."


@pytest.mark.django_db
def test_conversion_runs_once_per_paper_not_once_per_fetch():
    source = SourceFactory()
    record = _record()
    paper_upsert_many(source=source, records=[record])
    with mock.patch("papers.latex.display_text", wraps=display_text) as converted:
        paper_upsert_many(source=source, records=[record])  # unchanged: nothing converted
        assert converted.call_count == 0
        paper_upsert_many(source=source, records=[replace(record, version=2, title=r"$\alpha$ attention")])
    assert converted.call_count == 1  # only the text that changed
    assert Paper.objects.get().display_title == "α attention"


@pytest.mark.django_db
def test_a_curators_edit_converts_the_title_again():
    paper = Paper.objects.create(title=r"\textsc{Old}", first_seen_at="2026-11-01T00:00:00Z")
    assert paper.display_title == "Old"
    paper.title = r"New $\beta$"
    paper.save(update_fields=["title"])
    paper.refresh_from_db()
    assert paper.display_title == "New β"


@pytest.mark.django_db
def test_the_data_migration_fills_papers_stored_before():
    Paper.objects.create(title="x", first_seen_at="2026-11-01T00:00:00Z")
    Paper.objects.update(title=r"\emph{Old} $\gamma$ row", display_title="", display_abstract="")
    migration = importlib.import_module("papers.migrations.0005_paper_display_text")
    migration.fill_display_text(apps, None)
    assert Paper.objects.get().display_title == f"{EMPHASIS_START}Old{EMPHASIS_END} γ row"


def test_a_feed_past_its_conversion_budget_shows_the_rest_as_written():
    convert = latex.FeedConversions(budget_seconds=0.05)
    hostile = "\\\\" * 700 + " $x$"  # parsed at up to ~100 µs a character
    while convert("$O(n^2)$") == "O(n²)":
        convert(hostile)  # until the budget is spent: then nothing more is parsed
    assert convert(r"$\alpha$") == ""  # no display text of its own: shown as written
    assert latex.FeedConversions()(r"$\alpha$") == "α"


@pytest.mark.django_db
def test_a_paper_without_latex_keeps_no_second_copy_of_its_text():
    paper_upsert_many(source=SourceFactory(), records=[_record(title="Plain title", abstract="Plain words.")])
    paper = Paper.objects.get()
    assert (paper.display_title, paper.display_abstract) == ("", "")
    assert (paper.title_text, paper.abstract_text) == ("Plain title", "Plain words.")


def test_text_the_parser_would_read_too_long_is_shown_as_written():
    source = "$x$ " * 1000
    assert display_text(source) == source.strip()
