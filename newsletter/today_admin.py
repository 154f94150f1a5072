"""The Today page in the admin (/admin/today/): read the day's papers, then feature, hide or re-topic
one in a click. Each click is a POST (CSRF-checked by the admin), logged in the admin log, and says
how many of tomorrow's digests it changes (newsletter.today)."""

from django.contrib import messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.text import Truncator
from django.views.decorators.http import require_POST

from papers.curation import paper_topic_set, papers_set_featured, papers_set_hidden
from papers.models import Paper, Topic

from .today import PAGE_SIZE, reader_topic_sets, today_papers

PERMISSION = "papers.change_paper"


def _require_permission(request) -> None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied


def today_view(request, *, site):
    _require_permission(request)
    try:
        page = max(1, int(request.GET.get("page", 1)))
    except ValueError:
        page = 1
    rows, total, sets = today_papers(page=page)
    pages = max(1, -(-total // PAGE_SIZE))
    context = {
        **site.each_context(request),
        "title": "Today's papers",
        "rows": rows,
        "total": total,
        "page": page,
        "pages": range(1, pages + 1) if pages > 1 else [],
        "first_rank": (page - 1) * PAGE_SIZE + 1,
        "last_rank": (page - 1) * PAGE_SIZE + len(rows),
        # Bases the template appends ids to: {% url %} 50 times a page was a fifth of its time.
        "act_base": reverse(f"{site.name}:paperboy_today"),
        "change_base": reverse(f"{site.name}:papers_paper_changelist"),
        "readers": sets.readers,
        "computed_at": sets.computed_at,
    }
    return TemplateResponse(request, "admin/newsletter/today.html", context)


def _digests(count: int) -> str:
    return f"{count:,} of tomorrow's digest{'' if count == 1 else 's'}"


@require_POST
def today_act_view(request, paper_id: int, action: str, *, site):
    _require_permission(request)
    paper = get_object_or_404(
        Paper.objects.only("pk", "title", "display_title", "featured", "hidden"), pk=paper_id
    )
    sets = reader_topic_sets()
    own = set(paper.paper_topics.filter(excluded=False).values_list("topic_id", flat=True))
    reach = sets.reach(own)
    title = Truncator(paper.title_text).chars(80)
    if action in ("feature", "unfeature"):
        changed = papers_set_featured(paper_ids=[paper.pk], featured=action == "feature")
        verb = "Featured" if action == "feature" else "No longer featured"
        note = f"{verb}: “{title}”, changing up to {_digests(reach if changed else 0)}."
    elif action in ("hide", "unhide"):
        changed = papers_set_hidden(paper_ids=[paper.pk], hidden=action == "hide")
        verb = "Hidden" if action == "hide" else "Shown again"
        note = f"{verb}: “{title}”, changing up to {_digests(reach if changed else 0)}."
    elif action in ("add-topic", "remove-topic"):
        on = action == "add-topic"
        chosen = request.POST.get("topic" if on else "untopic") or ""
        topic = get_object_or_404(Topic, pk=int(chosen) if chosen.isdigit() else 0)
        delta = sets.changes(own).get(topic.pk, 0)
        changed = paper_topic_set(paper_id=paper.pk, topic_id=topic.pk, on=on)
        moved = abs(delta) if changed else 0
        if on:
            note = f"Topic “{topic.name}” added to “{title}”: {_digests(moved)} more can carry it."
        else:
            note = f"Topic “{topic.name}” removed from “{title}”: {_digests(moved)} fewer can carry it."
    else:
        raise Http404("No such action")
    if changed:
        LogEntry.objects.log_actions(
            user_id=request.user.pk,
            queryset=[paper],
            action_flag=CHANGE,
            change_message=f"{note} (Today page)",
        )
        messages.success(request, note)
    else:
        messages.info(request, f"Nothing to change: “{title}” was already so.")
    page = request.GET.get("page", "1")
    page = page if page.isdigit() else "1"
    return HttpResponseRedirect(reverse(f"{site.name}:paperboy_today") + f"?page={page}#paper-{paper.pk}")
