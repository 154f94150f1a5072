"""The substring baseline most digest bots use, kept as the yardstick every tagger is compared with.

A topic matches when its name or any of its keywords occurs, case-insensitively, anywhere in the
title or abstract. No word boundaries, no weighting, no categories: "RAG" is found inside "average",
"attention" in a theory paper counts, and that is the point of a baseline.
"""

from collections.abc import Iterable, Mapping


def substring_predict(record: Mapping, topics: Iterable[Mapping]) -> set[str]:
    """Slugs of the topics whose name or a keyword is a case-insensitive substring of title + abstract."""
    text = f"{record['title']}\n{record['abstract']}".lower()
    return {
        topic["slug"]
        for topic in topics
        if any(term.lower() in text for term in (topic["name"], *topic["keywords"]) if term.strip())
    }
