"""What every app's admin shares: topic chips, and the admin log of actions that change or send."""

from collections.abc import Iterable

from django.contrib.admin.models import CHANGE, LogEntry
from django.utils.html import format_html, format_html_join


def chips(names, *, limit: int = 3):
    """Short labels as chips, the first `limit` of them and "+n" for the rest."""
    names = list(names)
    shown = format_html_join("", '<span class="pb-chip">{}</span>', ((name,) for name in names[:limit]))
    if len(names) > limit:
        shown = format_html('{}<span class="pb-chip pb-more">+{}</span>', shown, len(names) - limit)
    return shown or "—"


def log_admin_action(request, objects: Iterable, message: str) -> None:
    """One admin-log row per object an action changed or mailed (bulk actions log nothing by
    themselves; the log is where an operator finds who unsubscribed or mailed whom, and when)."""
    objects = list(objects)
    if objects and request.user.is_authenticated:
        LogEntry.objects.log_actions(
            user_id=request.user.pk, queryset=objects, action_flag=CHANGE, change_message=message
        )
