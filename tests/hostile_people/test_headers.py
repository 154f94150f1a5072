"""Security headers on every public page, and HTML that a no-inline policy can serve unchanged.

newsletter/tests/test_security_headers.py checks three pages; these walk every page a person or a
feed reader reaches, in each state (form errors, 404, expired, used, unsubscribed, limited), and parse
each HTML body with html.parser for inline script, event handler attributes, javascript: URLs and
inline styles (site pages' policy allows none of them).
"""

import subprocess
import sys
import time
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from newsletter.links import digest_token
from newsletter.models import Delivery
from papers.tests.factories import PaperFactory, PaperTopicFactory
from subscriptions.models import ConsentRecord, Subscriber
from subscriptions.tests.factories import SubscriberFactory
from subscriptions.tokens import make_confirm_token, make_link_token
from testsupport.processes import ROOT, process_env

from .conftest import csrf_token_from
from .hostile import fresh_stamp

pytestmark = pytest.mark.django_db


class InlineFinder(HTMLParser):
    """Everything a Content-Security-Policy without 'unsafe-inline' would block or that runs script."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._open: str | None = None

    def handle_starttag(self, tag, attrs):
        names = {name.lower(): value or "" for name, value in attrs}
        if tag == "script":
            self._open = "script"
            if "src" not in names:
                self.scripts.append("<script> without src")
        if tag == "style":
            self._open = "style"
            self.styles.append("<style> element")
        for name, value in names.items():
            if name.startswith("on"):
                self.scripts.append(f"{name}= on <{tag}>")
            if name in ("href", "src", "action", "formaction") and value.strip().lower().startswith(
                ("javascript:", "data:text/html", "vbscript:")
            ):
                self.scripts.append(f"{name}={value[:30]} on <{tag}>")
            if name == "style":
                self.styles.append(f"style= on <{tag}>")

    def handle_endtag(self, tag):
        if tag == self._open:
            self._open = None

    def handle_data(self, data):
        if self._open == "script" and data.strip():
            self.scripts.append("inline script body")


@pytest.fixture(autouse=True)
def _every_digest_makes_an_edition(settings):
    # One reader's digest makes an archive page here; the small-number threshold has its own tests.
    settings.NEWSLETTER_ARCHIVE_MIN_DIGESTS = 1


def _directives(policy: str) -> dict[str, str]:
    return dict([*d.strip().split(" ", 1), ""][:2] for d in policy.split(";") if d.strip())


def _pages(topics) -> list[tuple[str, object]]:
    """(name, response) for every public page in every state."""
    pending = SubscriberFactory(status=Subscriber.Status.PENDING, confirmed_at=None, topics=topics[:1])
    consent = ConsentRecord.objects.create(subscriber=pending, form_version="t", topics=["lowbit"])
    reader = SubscriberFactory(topics=topics[:1])
    manage = f"/manage/{make_link_token(reader, 'manage')}/"
    unsubscribe = f"/unsubscribe/{make_link_token(reader, 'unsubscribe')}/"
    confirm = f"/confirm/{make_confirm_token(consent)}/"
    now = time.time()
    signing_time = signing.time.time
    signing.time.time = lambda: now - timedelta(days=8).total_seconds()
    try:
        expired = f"/confirm/{make_confirm_token(consent)}/"
    finally:
        signing.time.time = signing_time
    paper = PaperFactory(title="Low-bit kernels", first_seen_at=timezone.now() - timedelta(days=1))
    PaperTopicFactory(paper=paper, topic=topics[0])
    edition = timezone.localdate() - timedelta(days=1)
    delivery = Delivery.objects.create(
        subscriber=reader, edition_date=edition, status=Delivery.Status.SENT, paper_ids=[paper.pk]
    )

    browser = Client(enforce_csrf_checks=True)
    pages = [("signup", browser.get("/"))]
    token = csrf_token_from(pages[0][1])
    pages += [
        (
            "signup errors",
            browser.post("/", {"csrfmiddlewaretoken": token, "email": "bad", "started": fresh_stamp()}),
        ),
        ("check inbox", browser.get("/check-your-inbox/")),
        ("confirm", browser.get(confirm)),
        ("confirmed", browser.post(confirm, {"csrfmiddlewaretoken": token})),
        ("confirm again", Client().post(confirm)),
        ("confirm expired", browser.get(expired)),
        ("link invalid", browser.get("/confirm/forged/")),
        ("manage", browser.get(manage)),
        ("manage errors", browser.post(manage, {"csrfmiddlewaretoken": token, "topics": ["nope"]})),
        ("manage saved", browser.get(f"{manage}?saved=1")),
        ("delete", browser.get(f"{manage}delete/")),
        ("unsubscribe", browser.get(unsubscribe)),
        ("unsubscribed", browser.post(unsubscribe, {"csrfmiddlewaretoken": token})),
        ("resubscribed", browser.post(f"{unsubscribe}resubscribe/", {"csrfmiddlewaretoken": token})),
        ("links revoked", browser.post(f"{manage}new-link/", {"csrfmiddlewaretoken": token})),
        ("digest view", browser.get(f"/digest/{digest_token(delivery.pk)}/")),
        ("digest forged", browser.get("/digest/1.forged/")),
        ("archive", browser.get("/archive/")),
        ("archive day", browser.get(f"/archive/{edition.isoformat()}/")),
        ("archive missing day", browser.get("/archive/2001-01-01/")),
        ("rss", browser.get(f"/topics/{topics[0].slug}/feed/")),
        ("atom", browser.get(f"/topics/{topics[0].slug}/feed/atom/")),
        ("robots.txt", browser.get("/robots.txt")),
        ("healthz", browser.get("/healthz")),
        ("csrf failure", Client(enforce_csrf_checks=True).post("/", {"email": "a@example.com"})),
    ]
    for _ in range(25):
        limited = Client().post("/", {"email": "x@example.com", "started": fresh_stamp()})
    pages.append(("signup limited", limited))
    return pages


EXPECTED_STATUS = {
    "signup errors": 400, "confirm expired": 400, "link invalid": 404,
    "manage errors": 400, "digest forged": 404, "archive missing day": 404, "csrf failure": 403,
    "signup limited": 429,
}  # fmt: skip


def test_every_public_page_sends_the_security_headers(topics):
    for name, response in _pages(topics):
        assert response.status_code == EXPECTED_STATUS.get(name, 200), (name, response.status_code)
        csp = _directives(response["Content-Security-Policy"])
        assert "'unsafe-inline'" not in csp.get("script-src", "") and "'unsafe-eval'" not in str(csp), name
        assert csp.get("script-src") in ("'self'", None) and csp.get("default-src") in ("'self'", "'none'"), (
            name
        )
        assert csp["frame-ancestors"] == "'none'" and csp["base-uri"] == "'none'", name
        assert response["X-Content-Type-Options"] == "nosniff", name
        assert response["Referrer-Policy"] in ("same-origin", "no-referrer"), name
        assert response["X-Frame-Options"] == "DENY", name
        if name == "digest view":
            # Mail-client HTML: inline styles by necessity, never script; a policy of its own.
            assert csp["default-src"] == "'none'" and "script-src" not in csp
            assert response["Referrer-Policy"] == "no-referrer"
        else:
            assert csp["style-src"] == "'self'", (name, csp["style-src"])


def test_no_page_carries_inline_script_handlers_or_styles(topics):
    checked = 0
    for name, response in _pages(topics):
        if not response["Content-Type"].startswith("text/html"):
            continue
        finder = InlineFinder()
        finder.feed(response.content.decode())
        assert not finder.scripts, (name, finder.scripts)
        if name not in ("digest view", "csrf failure"):  # mail HTML; Django's own 403 page
            assert not finder.styles, (name, finder.styles)
        checked += 1
    assert checked >= 20


def test_the_admin_keeps_inline_styles_for_itself_and_the_digest_preview(admin_client, topics):
    reader = SubscriberFactory(topics=topics[:1])
    for path in ("/admin/", f"/admin/subscriptions/subscriber/{reader.pk}/change/"):
        csp = _directives(admin_client.get(path)["Content-Security-Policy"])
        assert csp["style-src"] == "'self' 'unsafe-inline'", path
        assert csp["script-src"] == "'self'", path


def test_hsts_and_headers_on_public_pages_in_production(tmp_path):
    """HSTS needs production settings and HTTPS: a separate process, as in test_security_headers.py."""
    script = (
        "import django; django.setup();"
        "from django.core.management import call_command; call_command('migrate', verbosity=0);"
        "call_command('collectstatic', interactive=False, verbosity=0);"
        "from django.test import Client; c = Client();"
        "paths = ['/', '/check-your-inbox/', '/confirm/x/', '/manage/1.x/', '/unsubscribe/1.x/',"
        " '/digest/1.x/', '/archive/', '/robots.txt', '/healthz'];"
        "rs = [c.get(p, secure=True, headers={'host': 'papers.example.com'}) for p in paths];"
        "print('\\n'.join(f\"{p}|{r.status_code}|{r.headers.get('Strict-Transport-Security')}"
        "|{r.headers.get('X-Content-Type-Options')}\" for p, r in zip(paths, rs)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=process_env(
            PAPERBOY_VAR_DIR=str(tmp_path),
            DJANGO_SETTINGS_MODULE="config.settings",
            SECRET_KEY="k" * 60,
            SITE_URL="https://papers.example.com",
            ALLOWED_HOSTS="papers.example.com",
            STATIC_ROOT=str(tmp_path / "static"),
            DATABASE_URL=None,
            REDIS_URL=None,
            CELERY_BROKER_URL=None,
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 9, out.stdout
    for line in lines:
        _, status, hsts, nosniff = line.split("|")
        assert status in ("200", "404", "503"), line
        assert hsts == "max-age=31536000; includeSubDomains; preload", line
        assert nosniff == "nosniff", line
