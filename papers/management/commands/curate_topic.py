"""Teach a topic from the command line: ask which papers to judge, then record the verdicts.

    python manage.py curate_topic SLUG --ask 10
    python manage.py curate_topic SLUG --pin 2601.12345 2601.23456 --remove 2601.34567

--ask prints one paper a line, its arXiv id (or #<id> for a paper without one) first, then its
title: the papers whose verdict would teach the topic most (papers.relevance.selectors). --pin and
--remove record verdicts through papers.curation, the admin's ✓ / ✗ service: the model is refitted
and the topic's papers re-tagged before the command returns.
"""

from django.core.management.base import BaseCommand, CommandError

from papers.curation import topic_verdicts_record
from papers.models import Paper, Topic
from papers.relevance.selectors import topic_questions


def paper_label(paper: Paper) -> str:
    return paper.arxiv_id or f"#{paper.pk}"


def papers_by_label(labels: list[str]) -> list[int]:
    """Paper ids for arXiv ids (a version suffix or an abs/pdf link is fine) or #<id>; unknown ones fail."""
    ids, arxiv_ids, unknown = [], {}, []
    for label in labels:
        text = label.strip().rstrip("/")
        if text.startswith("#") and text[1:].isdigit():
            ids.append(int(text[1:]))
            continue
        text = text.rsplit("/abs/", 1)[-1].rsplit("/pdf/", 1)[-1].removesuffix(".pdf")
        base, _, version = text.rpartition("v")
        arxiv_ids[label] = base if base and version.isdigit() else text
    found = dict(Paper.objects.filter(arxiv_id__in=list(arxiv_ids.values())).values_list("arxiv_id", "pk"))
    for label, arxiv_id in arxiv_ids.items():
        if arxiv_id in found:
            ids.append(found[arxiv_id])
        else:
            unknown.append(label)
    existing = set(Paper.objects.filter(pk__in=ids).values_list("pk", flat=True))
    unknown += [f"#{pk}" for pk in ids if pk not in existing]
    if unknown:
        raise CommandError(f"unknown papers: {' '.join(unknown)}")
    return ids


class Command(BaseCommand):
    help = (
        "Teach a topic: --ask N prints the N papers whose verdict would teach it most (arXiv id, "
        "title); --pin ID… / --remove ID… record verdicts, refit its model and re-tag its papers."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the topic's slug")
        parser.add_argument("--ask", type=int, metavar="N", help="print N papers to judge, best first")
        parser.add_argument("--pin", nargs="+", default=[], metavar="ID", help="papers that belong")
        parser.add_argument("--remove", nargs="+", default=[], metavar="ID", help="papers that do not")

    def handle(self, *args, slug, ask, pin, remove, **options):
        topic = Topic.objects.filter(slug=slug).first()
        if topic is None:
            raise CommandError(f"no topic {slug!r}")
        if ask is None and not pin and not remove:
            raise CommandError("say --ask N, or --pin / --remove with paper ids")
        if ask is not None and ask < 1:
            raise CommandError("--ask takes a positive number")
        if pin or remove:
            try:
                result = topic_verdicts_record(
                    topic=topic, pin=papers_by_label(pin), remove=papers_by_label(remove)
                )
            except ValueError as error:
                raise CommandError(str(error)) from error
            # With --ask, stdout is the questions alone, one a line.
            (self.stderr if ask is not None else self.stdout).write(
                f"{topic.slug}: {result.pinned} pinned, {result.removed} removed; model refitted; "
                f"tagged papers before {result.before}, after {result.after}"
            )
        if ask is not None:
            for question in topic_questions(topic=topic, count=ask):
                title = " ".join(question.paper.title_text.split())
                self.stdout.write(f"{paper_label(question.paper)}\t{title}")
