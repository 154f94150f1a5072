"""Authors' names, compared as people write them: "Lovelace, A." is "Ada Lovelace" is "ADA LOVELACE".

A name is reduced to its family name and its given names, without diacritics, case or punctuation
("Gödel, K." → family "godel", given "k"). Two names match when the family names are equal and the
given names agree as far as both go: a full given name matches the same full name or its initial
("Ada" ~ "A."), two full given names must be equal ("Ada" ≁ "Alan"). Written "Family, Given" the
family name is what precedes the comma; otherwise it is the last word, with the particles that
belong to it ("van der Waals", "de la Cruz").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from django.db import models

_PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "di", "da", "la", "le", "du", "dos", "ter"}
)
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")
MAX_NAME_CHARS = 120


@dataclass(frozen=True)
class AuthorName:
    family: str  # "van der waals"
    given: tuple[str, ...]  # ("johannes", "d") — initials as one letter

    @property
    def key(self) -> str:
        """What is stored for a followed author: "lovelace|ada"."""
        return f"{self.family}|{' '.join(self.given)}"

    def matches(self, other: AuthorName) -> bool:
        if self.family != other.family:
            return False
        for mine, theirs in zip(self.given, other.given, strict=False):
            if mine[0] != theirs[0]:
                return False
            if len(mine) > 1 and len(theirs) > 1 and mine != theirs:
                return False
        return True


# Letters Unicode does not decompose into a base letter and a mark, as names are written in ASCII.
_PLAIN_LETTERS = str.maketrans(
    {
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "æ": "ae",
        "œ": "oe",
        "\u0131": "i",  # dotless i
        "ß": "ss",
        "\u2019": "'",
    }
)


def _folded(text: str) -> str:
    """Lower case without diacritics: "Gödel" → "godel", "Ødegaard" → "odegaard", a curly apostrophe
    written straight."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_PLAIN_LETTERS))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_PLAIN_LETTERS)


def parse_name(name: str) -> AuthorName | None:
    """The name's family and given parts; None when it holds no family name."""
    if not isinstance(name, str):
        return None
    return _parse_name(name)


@lru_cache(maxsize=65_536)  # a digest pool meets the same authors again and again
def _parse_name(name: str) -> AuthorName | None:
    text = _folded(name[:MAX_NAME_CHARS])
    if "," in text:
        family_text, _, given_text = text.partition(",")
        family = _WORD.findall(family_text)
        given = _WORD.findall(given_text)
    else:
        words = _WORD.findall(text)
        if not words:
            return None
        written = _WORD.findall(name[:MAX_NAME_CHARS])
        if len(words) > 1 and len(written) == len(words) and _initials(written[-1]):
            # "Lovelace A" / "Lovelace AB": family first, initials after, as reference lists write it.
            return AuthorName(family=" ".join(words[:-1]), given=tuple(words[-1]))
        split = len(words) - 1
        while split > 0 and words[split - 1] in _PARTICLES:
            split -= 1
        given, family = words[:split], words[split:]
    if not family:
        return None
    # "A.B." gives two initials (the dots split words); "Jean-Pierre" stays one given name.
    return AuthorName(family=" ".join(family), given=tuple(given))


def _initials(word: str) -> bool:
    """ "A", "AB": one to three capitals written together (not "Li", not "Wu")."""
    return 1 <= len(word) <= 3 and word.isupper()


def parse_names(text: str) -> list[str]:
    """Names a reader typed, one per line or separated by semicolons, each once, in order. A comma
    may be inside a name ("Lovelace, A."); a line whose comma-separated parts are all full names
    ("Ada Lovelace, Alan Turing", as an author list is pasted) is that many names."""
    seen: dict[str, None] = {}
    for line in re.split(r"[;\n]+", text or ""):
        parts = [" ".join(part.split()) for part in line.split(",")]
        if len(parts) > 1 and all(len(part.split()) >= 2 for part in parts):
            names = parts
        else:
            names = [" ".join(line.split())]
        for name in names:
            if name:
                seen.setdefault(name[:MAX_NAME_CHARS], None)
    return list(seen)


# An ambiguity check reads the shown papers of this many days that name the family, at most this many.
NAMESAKE_DAYS = 365
NAMESAKE_SCAN = 500


def namesakes(name: str, *, limit: int = 3) -> list[tuple[str, str]]:
    """Authors of the last year's shown papers that `name` matches, each with one of their titles:
    [("Ada Lovelace", "Notes on the Engine"), ("Alan Lovelace", "…")]. The scan goes on until two
    of them cannot be one person (several_people) or the papers run out; at most `limit` are
    returned, the first two of them different people when there are such."""
    from datetime import timedelta

    from django.utils import timezone

    from .models import Paper  # the model layer under this module's pure functions

    wanted = parse_name(name)
    if wanted is None:
        return []
    typed_family = name.partition(",")[0] if "," in name else name.split()[-1]
    query = Paper.objects.filter(
        models.Q(authors__icontains=typed_family.strip(" ,.")) | models.Q(authors__icontains=wanted.family),
        hidden=False,
        first_seen_at__gte=timezone.now() - timedelta(days=NAMESAKE_DAYS),
    )
    found: dict[AuthorName, tuple[str, str]] = {}
    rows = query.order_by("-first_seen_at").values_list("authors", "title")[:NAMESAKE_SCAN]
    for authors, title in rows:
        for author in authors if isinstance(authors, list) else ():
            parsed = parse_name(author)
            if parsed is None or parsed in found or not wanted.matches(parsed):
                continue
            found[parsed] = (author, title)
            other = next((p for p in found if not p.matches(parsed)), None)
            if other is not None:  # two people: show those two first
                return [
                    found[other],
                    found[parsed],
                    *(v for p, v in found.items() if p not in (other, parsed)),
                ][:limit]
    return list(found.values())[:limit]


def several_people(names: list[str]) -> bool:
    """Whether these author names cannot all be one person ("Ada Lovelace", "Alan Lovelace")."""
    parsed = [p for name in names if (p := parse_name(name)) is not None]
    return any(not a.matches(b) for i, a in enumerate(parsed) for b in parsed[i + 1 :])
