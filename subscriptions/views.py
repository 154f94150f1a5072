"""Pages of subscriptions: signup, confirm, manage, unsubscribe, and the subscriber's own data.

GET never changes anything (mail scanners open links); every change is a POST. Tokens in links
authenticate the subscriber; a forged, tampered or revoked one gets a 404 page and changes nothing.
"""

import json
from collections import ChainMap

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import ratelimit, services, shells
from .addresses import address_key
from .conf import setting
from .forms import (
    RESUBSCRIBE_CONSENT_TEXT,
    SIGNUP_CONSENT_TEXT,
    LinkRequestForm,
    ManageForm,
    SignupForm,
    make_form_stamp,
)
from .models import Subscriber
from .schedule import first_digest
from .tokens import (
    ExpiredToken,
    InvalidToken,
    confirmation_from_token,
    make_link_token,
    subscriber_from_link_token,
)

_USER_AGENT_MAX = 500


def _user_agent(request: HttpRequest) -> str:
    raw = request.META.get("HTTP_USER_AGENT", "")
    return "".join(c for c in raw if c.isprintable())[:_USER_AGENT_MAX]


def _embedded_origin(request: HttpRequest) -> bool:
    """A cross-site POST from a page the operator allowed to embed the signup form."""
    origin = request.META.get("HTTP_ORIGIN", "").rstrip("/").lower()
    allowed = {o.rstrip("/").lower() for o in setting("EMBED_ORIGINS")}
    return bool(origin) and origin in allowed


def _csrf_rejection(request: HttpRequest) -> HttpResponse | None:
    """Django's own CSRF check, run by hand because embedded forms are exempt from it."""
    return CsrfViewMiddleware(lambda _request: HttpResponse()).process_view(request, None, (), {})


def _signup_page(request: HttpRequest, form: SignupForm, *, status: int = 200) -> HttpResponse:
    return render(
        request,
        "subscriptions/home.html",
        {"form": form, "consent_text": SIGNUP_CONSENT_TEXT},
        status=status,
    )


def _blank_signup_context() -> dict:
    """The signup page as every visitor first gets it; the stamp is filled in per request."""
    form = SignupForm(
        initial={
            "started": shells.hole("started"),
            "timezone": setting("DEFAULT_TIMEZONE"),
            "delivery_hour": setting("DEFAULT_DELIVERY_HOUR"),
            "frequency": Subscriber.Frequency.DAILY,
        }
    )
    return {"form": form, "consent_text": SIGNUP_CONSENT_TEXT}


@csrf_exempt  # checked by hand below, except for allowed embedding origins
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return shells.render_shell(
            request,
            "subscriptions/home.html",
            context=_blank_signup_context,
            values={"started": make_form_stamp()},
        )

    embedded = _embedded_origin(request)
    if not embedded and (rejection := _csrf_rejection(request)) is not None:
        return rejection
    if not ratelimit.hit(
        "ip", ratelimit.ip_bucket(ratelimit.client_ip(request)), limit=setting("SIGNUPS_PER_IP_PER_HOUR")
    ):
        response = render(request, "subscriptions/slow_down.html", status=429)
        response["Retry-After"] = str(ratelimit.WINDOW_SECONDS)
        return response

    form = SignupForm(request.POST)
    if form.looks_automated(embedded=embedded):
        return redirect("subscriptions:check_inbox")  # a bot sees the normal success page
    if not form.is_valid():
        return _signup_page(request, form, status=400)
    email = form.cleaned_data["email"]
    if ratelimit.hit("address", address_key(email), limit=setting("SIGNUPS_PER_ADDRESS_PER_HOUR")):
        services.subscriber_signup(
            email=email,
            preferences=form.preferences(),
            ip_address=ratelimit.client_ip(request) or None,
            user_agent=_user_agent(request),
            form_version=setting("FORM_VERSION"),
            consent_text=SIGNUP_CONSENT_TEXT,
            seeds=form.seeds(),
        )
    # The same answer whatever the address's state, and whether or not an email went out.
    return redirect("subscriptions:check_inbox")


@require_http_methods(["GET", "HEAD"])
def check_inbox(request: HttpRequest) -> HttpResponse:
    return render(request, "subscriptions/check_inbox.html")


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def request_links(request: HttpRequest) -> HttpResponse:
    """ "Get your manage link": the same answer whatever the address, so it tells no one who subscribes."""
    if request.method != "POST":
        return render(request, "subscriptions/request_links.html", {"link_form": LinkRequestForm()})
    if not ratelimit.hit(
        "link-ip", ratelimit.ip_bucket(ratelimit.client_ip(request)), limit=setting("SIGNUPS_PER_IP_PER_HOUR")
    ):
        response = render(request, "subscriptions/slow_down.html", status=429)
        response["Retry-After"] = str(ratelimit.WINDOW_SECONDS)
        return response
    form = LinkRequestForm(request.POST)
    if not form.is_valid():  # says only that the text is no address
        return render(request, "subscriptions/request_links.html", {"link_form": form}, status=400)
    email = form.cleaned_data["email"]
    if ratelimit.hit("link-address", address_key(email), limit=setting("SIGNUPS_PER_ADDRESS_PER_HOUR")):
        services.subscriber_request_links(email=email)
    return redirect("subscriptions:links_sent")


@require_http_methods(["GET", "HEAD"])
def links_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "subscriptions/links_sent.html")


def _invalid_link(request: HttpRequest) -> HttpResponse:
    return render(request, "subscriptions/link_invalid.html", status=404)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber, consent = confirmation_from_token(token)
    except ExpiredToken:
        return render(request, "subscriptions/link_expired.html", status=400)
    except InvalidToken:
        return _invalid_link(request)
    if request.method != "POST":
        return _confirm_page(request, subscriber, consent)
    try:
        subscriber = services.subscriber_confirm(subscriber=subscriber, consent=consent)
    except services.SubscriptionError:
        return render(request, "subscriptions/link_used.html", status=400)
    now = timezone.now()
    first = first_digest(subscriber, now=now)
    return render(
        request,
        "subscriptions/confirmed.html",
        {
            "subscriber": subscriber,
            "manage_path": _manage_path(subscriber),
            "first_digest": first.describe(now),
            "first_digest_due_now": first.due_now,
            "time_zone": first.zone,
        },
    )


def _confirm_page(request: HttpRequest, subscriber: Subscriber, consent) -> HttpResponse:
    """The confirm page from its shell: one per (already active or not, number of topics)."""
    active = subscriber.status == Subscriber.Status.ACTIVE
    topics = len(consent.topics or [])
    return shells.render_shell(
        request,
        "subscriptions/confirm.html",
        context=lambda: {
            "subscriber": {"status": subscriber.status if active else "", "email": shells.hole("email")},
            "consent": {"topics": consent.topics},
        },
        values={"email": subscriber.email},
        variant=(active, topics),
    )


def _manage_path(subscriber: Subscriber) -> str:
    return reverse("subscriptions:manage", args=[make_link_token(subscriber, "manage")])


def _link_subscriber(token: str, purpose: str) -> Subscriber | None:
    try:
        return subscriber_from_link_token(token, purpose)
    except InvalidToken:
        return None


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def manage(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = _link_subscriber(token, "manage")
    if subscriber is None:
        return _invalid_link(request)
    unsubscribe_path = reverse("subscriptions:unsubscribe", args=[make_link_token(subscriber, "unsubscribe")])
    if request.method != "POST":
        return _manage_page(request, subscriber, token=token, unsubscribe_path=unsubscribe_path)
    form = ManageForm.for_subscriber(subscriber, data=request.POST)
    if form.is_valid():
        services.subscriber_update_preferences(
            subscriber=subscriber,
            preferences=form.preferences(keywords=form.cleaned_data["keywords"]),
            paused=form.cleaned_data["paused"],
            seeds=form.seeds(),
        )
        return redirect(f"{request.path}?saved=1", permanent=False)
    # With the messages next to their fields and the values kept: an ordinary render.
    # Every name the template reads is given: a failed lookup is logged at DEBUG with the whole
    # context, which holds the reader's token.
    context = {
        "subscriber": subscriber,
        "form": form,
        "token": token,
        "unsubscribe_path": unsubscribe_path,
        "saved": False,
    }
    return render(request, "subscriptions/manage.html", context, status=400)


def _manage_page(request: HttpRequest, subscriber: Subscriber, *, token: str, unsubscribe_path: str):
    """The manage page from its shell: one per (status, paused, "saved" message, topic list); the
    reader's address, links and form values fill its holes, their feedback list renders per request."""
    form = ManageForm.for_subscriber(subscriber)
    saved = request.GET.get("saved") == "1"
    topic_values = tuple(value for value, _label in form.fields["topics"].choices)
    status, paused = subscriber.status, subscriber.paused

    def blank_context() -> dict:
        return {
            "subscriber": {
                "status": status,
                "paused": paused,
                "get_status_display": Subscriber.Status(status).label,
                "email": shells.hole("email"),
            },
            "form": shells.form_with_holes(ManageForm()),
            "token": shells.hole("token"),
            "saved": saved,
            "unsubscribe_path": shells.hole("unsubscribe_path"),
        }

    values = {"email": subscriber.email, "token": token, "unsubscribe_path": unsubscribe_path}
    return shells.render_shell(
        request,
        "subscriptions/manage.html",
        context=blank_context,
        values=ChainMap(values, shells.FormHoles(form)),
        blocks_context={"subscriber": subscriber, "token": token},
        variant=(status, paused, saved, topic_values),
    )


@never_cache
@require_http_methods(["POST"])
def export_data(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = _link_subscriber(token, "manage")
    if subscriber is None:
        return _invalid_link(request)
    data = services.subscriber_export_data(subscriber=subscriber)
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{settings.SITE_NAME.lower()}-my-data.json"'
    return response


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def delete_data(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = _link_subscriber(token, "manage")
    if subscriber is None:
        return _invalid_link(request)
    if request.method != "POST":
        return render(request, "subscriptions/delete.html", {"subscriber": subscriber, "token": token})
    services.subscriber_erase(subscriber=subscriber)
    return render(request, "subscriptions/deleted.html")


@never_cache
@require_http_methods(["POST"])
def revoke_links(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = _link_subscriber(token, "manage")
    if subscriber is None:
        return _invalid_link(request)
    services.subscriber_revoke_links(subscriber=subscriber)
    services.subscriber_send_manage_link(subscriber=subscriber)
    return render(request, "subscriptions/links_revoked.html", {"subscriber": subscriber})


# RFC 8058: mail programs POST "List-Unsubscribe=One-Click" with no cookies and no CSRF token; the
# signed token in the URL is what authenticates, so CSRF protection has nothing to add here.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = _link_subscriber(token, "unsubscribe")
    if subscriber is None:
        return _invalid_link(request)
    if request.method == "POST":
        try:
            one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        except (BadRequest, MultiPartParserError):
            # A body Django cannot read (a charset other than UTF-8, a broken multipart) is still a
            # POST to this link: the person asked to leave, and the token in the URL is what counts.
            one_click = False
        subscriber = services.subscriber_unsubscribe(
            subscriber=subscriber, reason="one-click (RFC 8058)" if one_click else "unsubscribe page"
        )
        return render(request, "subscriptions/unsubscribed.html", {"subscriber": subscriber, "token": token})
    return render(
        request,
        "subscriptions/unsubscribe.html",
        {"subscriber": subscriber, "token": token, "manage_token": make_link_token(subscriber, "manage")},
    )


@never_cache
@require_http_methods(["POST"])
def resubscribe(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = _link_subscriber(token, "unsubscribe")
    if subscriber is None:
        return _invalid_link(request)
    try:
        subscriber = services.subscriber_resubscribe(
            subscriber=subscriber,
            ip_address=ratelimit.client_ip(request) or None,
            user_agent=_user_agent(request),
            consent_text=RESUBSCRIBE_CONSENT_TEXT,
        )
    except services.SubscriberSuppressed:
        return render(request, "subscriptions/link_used.html", status=400)
    return render(
        request,
        "subscriptions/resubscribed.html",
        {"subscriber": subscriber, "manage_path": _manage_path(subscriber)},
    )
