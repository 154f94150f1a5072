"""Authors' names compared as people write them: order, initials, diacritics, case, particles."""

import pytest

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
    assert several_people(["Ada Lovelace", "A. Lovelace", "Alan Lovelace"])
    assert not several_people(["Ada Lovelace", "A. Lovelace"])
