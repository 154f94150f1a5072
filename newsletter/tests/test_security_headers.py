import subprocess
import sys

import pytest

from testsupport.processes import ROOT, process_env

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/healthz", "/admin/login/"])
def test_pages_send_security_headers(client, path):
    response = client.get(path)
    csp = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"  # no inline script, no eval
    assert "'unsafe-inline'" not in directives["script-src"]
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "camera=()" in response["Permissions-Policy"]


def test_hsts_is_sent_in_production_over_https(tmp_path):
    """HSTS only makes sense over HTTPS: check it with production settings and a secure request."""
    script = (
        "import django; django.setup();"
        "from django.core.management import call_command; call_command('migrate', verbosity=0);"
        "from django.test import Client;"
        "r = Client().get('/healthz', secure=True, headers={'host': 'papers.example.com'});"
        "print(r.headers.get('Strict-Transport-Security'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=process_env(
            PAPERBOY_VAR_DIR=str(tmp_path),
            DJANGO_SETTINGS_MODULE="newsletter.settings",
            SECRET_KEY="k" * 60,
            SITE_URL="https://papers.example.com",
            ALLOWED_HOSTS="papers.example.com",
            DATABASE_URL=None,
        ),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == "max-age=31536000; includeSubDomains; preload"
