"""What a reader knows already: papers they liked and authors they follow, given on the manage page.

Liked papers seed the reader's profile exactly as "more like this" does (a +1 in
subscriptions.feedback), so the digest's re-ranking (newsletter.reranking) moves papers near them up
within the reader's topics. A followed author's new papers always make the reader's next digest
(newsletter.selectors), marked "by an author you follow". Both are the reader's personal data:
exported with it and erased with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from papers.authors import parse_name, parse_names
from papers.models import Paper
from papers.normalise import parse_arxiv_id

from .feedback import feedback_record
from .models import PaperFeedback, Subscriber

MAX_LIKED_PAPERS = 50
MAX_FOLLOWED_AUTHORS = 50


class SeedError(ValueError):
    """Input a reader must correct; the message says what and how."""


@dataclass(frozen=True)
class Seeds:
    liked_papers: tuple[int, ...] = ()  # paper ids, to add as "more like this"
    # The whole list of names followed from now on; None leaves the list as it is.
    followed_authors: tuple[str, ...] | None = None

    def consent_fields(self) -> dict:
        """As a signup's consent record keeps them until the owner confirms (none: nothing)."""
        fields = {}
        if self.liked_papers:
            fields["liked_papers"] = list(self.liked_papers)
        if self.followed_authors:  # none given at signup: the list stays as it is on confirming
            fields["followed_authors"] = list(self.followed_authors)
        return fields

    @staticmethod
    def in_consent(preferences: dict) -> bool:
        return bool(preferences.get("liked_papers") or preferences.get("followed_authors"))

    @classmethod
    def from_consent(cls, preferences: dict) -> Seeds:
        """What consent_fields stored, trusting nothing about the JSON."""
        papers, names = preferences.get("liked_papers"), preferences.get("followed_authors")
        ids = (
            [p for p in papers if isinstance(p, int) and not isinstance(p, bool)]
            if isinstance(papers, list)
            else []
        )
        return cls(
            liked_papers=tuple(ids),
            followed_authors=tuple(n for n in names if isinstance(n, str))
            if isinstance(names, list)
            else None,
        )


def papers_from_text(text: str) -> tuple[int, ...]:
    """Paper ids for the arXiv ids or links a reader pasted (one per line, or separated by commas or
    spaces). Raises SeedError naming what is not an arXiv reference or not a paper Paperboy has."""
    references = [part for part in (text or "").replace(",", " ").split() if part]
    not_arxiv, arxiv_ids = [], {}
    for reference in references:
        arxiv_id, _version = parse_arxiv_id(reference)
        if arxiv_id is None:
            not_arxiv.append(reference)
        else:
            arxiv_ids.setdefault(arxiv_id, reference)
    if not_arxiv:
        raise SeedError(f"Not an arXiv id or link: {', '.join(not_arxiv[:5])}.")
    if len(arxiv_ids) > MAX_LIKED_PAPERS:
        raise SeedError(f"At most {MAX_LIKED_PAPERS} papers at a time.")
    found = dict(Paper.objects.filter(arxiv_id__in=list(arxiv_ids)).values_list("arxiv_id", "pk"))
    missing = [reference for arxiv_id, reference in arxiv_ids.items() if arxiv_id not in found]
    if missing:
        raise SeedError(
            f"Paperboy does not have {', '.join(missing[:5])} yet (it knows the papers its sources "
            "brought in). Remove them, or add them once they appear in a digest."
        )
    return tuple(found[arxiv_id] for arxiv_id in arxiv_ids)


def authors_from_text(text: str) -> tuple[str, ...]:
    """The names a reader typed (one per line, or separated by semicolons). Raises SeedError for a
    name that holds no family name, or for too many."""
    names = parse_names(text)
    unreadable = [name for name in names if parse_name(name) is None]
    if unreadable:
        raise SeedError(f"Not a name: {', '.join(unreadable[:5])}.")
    if len(names) > MAX_FOLLOWED_AUTHORS:
        raise SeedError(f"At most {MAX_FOLLOWED_AUTHORS} authors.")
    return tuple(names)


def followed_authors(subscriber: Subscriber) -> list[str]:
    """The names the reader follows, trusting nothing about the JSON."""
    names = subscriber.followed_authors
    return [name for name in names if isinstance(name, str)] if isinstance(names, list) else []


def subscriber_set_seeds(*, subscriber: Subscriber, seeds: Seeds) -> None:
    """Record the liked papers (as "more like this") and make the followed authors exactly `seeds`'.
    The caller saves `subscriber` (subscriptions.services.subscriber_update_preferences)."""
    for paper in Paper.objects.filter(pk__in=seeds.liked_papers):
        feedback_record(subscriber=subscriber, paper=paper, value=PaperFeedback.Value.MORE)
    if seeds.followed_authors is not None:
        subscriber.followed_authors = list(seeds.followed_authors)
