"""Pages for readers' feedback: the "more / less like this" link from a digest, and clearing it all.

The link from the email opens a page (GET changes nothing: mail scanners open links); its button
POSTs the choice. The signed token in the URL names reader, paper and choice.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from .feedback import feedback_clear, feedback_record
from .models import PaperFeedback
from .tokens import InvalidToken, feedback_from_token, make_link_token, subscriber_from_link_token


def _invalid_link(request: HttpRequest) -> HttpResponse:
    return render(request, "subscriptions/link_invalid.html", status=404)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def paper_feedback(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = feedback_from_token(token)
    except InvalidToken:
        return _invalid_link(request)
    context = {
        "paper": link.paper,
        "more": link.value == PaperFeedback.Value.MORE,
        "manage_path": reverse("subscriptions:manage", args=[make_link_token(link.subscriber, "manage")]),
    }
    if request.method != "POST":
        return render(request, "subscriptions/feedback.html", context)
    _row, changed = feedback_record(subscriber=link.subscriber, paper=link.paper, value=link.value)
    return render(request, "subscriptions/feedback_recorded.html", {**context, "changed": changed})


@never_cache
@require_http_methods(["POST"])
def paper_feedback_clear(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = subscriber_from_link_token(token, "manage")
    except InvalidToken:
        return _invalid_link(request)
    feedback_clear(subscriber=subscriber)
    return redirect(reverse("subscriptions:manage", args=[token]) + "?feedback_cleared=1", permanent=False)
