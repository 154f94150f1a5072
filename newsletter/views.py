"""Digests on the web: one reader's sent digest ("view in browser") and the public archive."""

from datetime import date

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.template import TemplateDoesNotExist, loader
from django.utils import timezone
from django.views.decorators.http import require_safe
from django.views.defaults import ERROR_400_TEMPLATE_NAME, ERROR_PAGE_TEMPLATE

from subscriptions.tokens import parse_digest_token, token_key_matches

from . import archive
from .composing import render_web_copy
from .models import Delivery

# The digest is mail-client HTML: inline styles, remote images, and never any script or form.
DIGEST_PAGE_CSP = "; ".join(
    [
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src https: data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
# Link pages act for one reader and the admin is private: no crawler has business there.
ROBOTS_TXT = """User-agent: *
Disallow: /admin/
Disallow: /confirm/
Disallow: /manage/
Disallow: /unsubscribe/
Disallow: /digest/
Disallow: /webhooks/
"""
ARCHIVE_DAYS_PER_PAGE = 7
ARCHIVE_PAPERS_PER_DAY = 10  # on the archive index; each day's own page lists them all


@require_safe
def digest_in_browser(request, token: str):
    parsed = parse_digest_token(token)
    if parsed is None:  # malformed or forged: refused before any query
        raise Http404("No such digest")
    delivery_id, fingerprint = parsed
    delivery = (
        Delivery.objects.select_related("subscriber")
        .filter(pk=delivery_id, status=Delivery.Status.SENT, subscriber__isnull=False)
        .first()
    )
    if delivery is None:  # never sent, or its reader erased their data
        raise Http404("No such digest")
    if not token_key_matches(fingerprint, delivery.subscriber.token_key):
        raise Http404("No such digest")  # the reader switched off their old links
    response = HttpResponse(render_web_copy(delivery).html)
    # The page carries the reader's own manage and unsubscribe links: keep it out of Referer
    # headers, search engines and shared caches.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = DIGEST_PAGE_CSP
    return response


@require_safe
def robots_txt(request):
    return HttpResponse(ROBOTS_TXT, content_type="text/plain; charset=utf-8")


def _today() -> date:
    return timezone.localdate()


@require_safe
def archive_index(request):
    paginator = Paginator(archive.edition_dates(until=_today()), ARCHIVE_DAYS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    # A busy date whose papers each went to too few readers has nothing to show (archive.editions_for).
    editions = [edition for edition in archive.editions_for(list(page.object_list)) if edition.papers]
    return render(
        request,
        "newsletter/archive.html",
        {"page": page, "editions": editions, "papers_per_day": ARCHIVE_PAPERS_PER_DAY},
    )


@require_safe
def archive_day(request, iso_date: str):
    try:
        edition_date = date.fromisoformat(iso_date)
    except ValueError:
        raise Http404("No such date") from None
    if edition_date > _today():
        raise Http404("No edition yet")
    editions = archive.editions_for([edition_date])
    if not editions[0].papers:
        raise Http404("No edition on this date")
    return render(request, "newsletter/archive_day.html", {"edition": editions[0]})


def bad_request(request, exception):
    """Django's 400 page without the CSRF check Django's own runs first (handler400 in urls.py).

    That check reads the form body again; when the body is what Django refused to read (a form posted
    in a charset other than UTF-8, with a CSRF cookie), it raises inside the error page and the 400
    becomes a 500. A 400 page has no form, so it needs no CSRF token.
    """
    try:
        template = loader.get_template(ERROR_400_TEMPLATE_NAME)
    except TemplateDoesNotExist:
        return HttpResponseBadRequest(ERROR_PAGE_TEMPLATE % {"title": "Bad Request (400)", "details": ""})
    return HttpResponseBadRequest(template.render())
