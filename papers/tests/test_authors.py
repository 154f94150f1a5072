"""Authors' names compared as people write them: order, initials, diacritics, case, particles."""

from datetime import timedelta

import pytest
from django.utils import timezone

from papers.authors import namesakes, parse_name, parse_names, several_people
from papers.tests.factories import PaperFactory


@pytest.mark.parametrize(
    "followed, author",
    [
        ("Lovelace, A.", "Ada Lovelace"),
        ("Ada Lovelace", "ADA LOVELACE"),
        ("A. Lovelace", "Ada King Lovelace"),
        ("Kurt Godel", "Kurt Gödel"),
        ("Gödel, K.", "Kurt Godel"),
        ("J. D. van der Waals", "Johannes Diderik van der Waals"),
        ("van der Waals, Johannes", "J.D. van der Waals"),
        ("Jean-Pierre Serre", "J.-P. Serre"),
        ("Lovelace", "Ada Lovelace"),  # a family name alone follows every Lovelace
        ("Lovelace A", "Ada Lovelace"),  # family first, initials after, as reference lists write it
        ("Lovelace AK", "Ada King Lovelace"),
        ("Martin Ødegaard", "Martin Odegaard"),
        ("O\u2019Neil, C.", "Cathy O'Neil"),
        ("Lech Wałęsa", "Lech Walesa"),
    ],
)
def test_names_that_are_the_same_person_match(followed, author):
    assert parse_name(followed).matches(parse_name(author))


@pytest.mark.parametrize(
    "followed, author",
    [
        ("Ada Lovelace", "Alan Lovelace"),  # two full given names must agree
        ("A. Lovelace", "Bea Lovelace"),
        ("Ada Lovelace", "Ada Byron"),
        ("Waals, J.", "Johannes van der Waals"),  # the particle belongs to the family name
    ],
)
def test_names_of_different_people_do_not_match(followed, author):
    assert not parse_name(followed).matches(parse_name(author))


def test_what_is_not_a_name_is_refused_and_a_list_is_read_as_people_write_it():
    assert parse_name("") is None and parse_name("  12 ") is None and parse_name(None) is None
    assert parse_names("Ada Lovelace\nLovelace, A.; Ada Lovelace\n\n  Kurt   Gödel ") == [
        "Ada Lovelace",
        "Lovelace, A.",
        "Kurt Gödel",
    ]
    # An author list pasted as it is printed: full names between the commas are that many names.
    assert parse_names("Ada Lovelace, Alan Turing, Grace Hopper") == [
        "Ada Lovelace",
        "Alan Turing",
        "Grace Hopper",
    ]


@pytest.mark.django_db
def test_namesakes_are_the_distinct_authors_a_name_would_follow():
    PaperFactory(title="Notes on the Engine", authors=["Ada Lovelace", "Charles Babbage"])
    PaperFactory(title="Engines again", authors=["A. Lovelace"])
    PaperFactory(title="Another Lovelace", authors=["Alan Lovelace"])
    PaperFactory(title="Unrelated", authors=["Grace Hopper"])
    found = dict(namesakes("Lovelace, A."))
    assert set(found) == {"Ada Lovelace", "A. Lovelace", "Alan Lovelace"}
    assert {name for name, _title in namesakes("Ada Lovelace")} == {"Ada Lovelace", "A. Lovelace"}
    assert namesakes("Nobody Here") == []
    hidden = PaperFactory(title="Hidden by a curator", authors=["Bea Lovelace"], hidden=True)
    assert all(title != hidden.title for _name, title in namesakes("Lovelace"))
    assert several_people(["Ada Lovelace", "A. Lovelace", "Alan Lovelace"])
    assert not several_people(["Ada Lovelace", "A. Lovelace"])


@pytest.mark.django_db
def test_the_scan_goes_on_past_one_persons_spellings_to_a_second_person():
    PaperFactory(title="Older", authors=["Alan Lovelace"], first_seen_at=timezone.now() - timedelta(days=9))
    for n, spelling in enumerate(["Ada Lovelace", "A. Lovelace", "Ada K. Lovelace", "Lovelace, Ada"]):
        PaperFactory(title=f"Newer {n}", authors=[spelling], first_seen_at=timezone.now() - timedelta(days=n))
    found = namesakes("Lovelace, A.")
    assert several_people([name for name, _title in found]) and "Alan Lovelace" in dict(found)
