"""Example papers shipped for the default topics, as if curators had pinned them.

They are the hand-labelled papers of papers/devset/devset.jsonl: each one is labelled for every
default topic (in or out), so it teaches each of them. A topic an installation adds learns only
from its own description and its curators' corrections; these papers are background for it.
"""

from functools import lru_cache

from papers.default_topics import DEFAULT_TOPICS

from .labelled import load_devset
from .model import Example, PaperText


def examples_from_records(records) -> list[Example]:
    """Dev-set style records ({title, abstract, categories, primary_category, labels}) as examples."""
    labelled = frozenset(topic["slug"] for topic in DEFAULT_TOPICS)
    return [
        Example(
            text=PaperText.of(record),
            labels=dict.fromkeys(record["labels"], True),
            complete=True,
            labelled_slugs=labelled,
        )
        for record in records
    ]


@lru_cache(maxsize=1)
def shipped_examples() -> tuple[Example, ...]:
    return tuple(examples_from_records(load_devset()))
