import pytest

from config.celery import app as celery_app

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker_reachable(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"] == "ok"


def test_healthz_names_an_unreachable_broker_with_503(client, monkeypatch):
    # Port 9 (discard) is closed on loopback: a real connection attempt that fails.
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:9/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["broker"] == "unreachable"
    assert body["database"] == "ok"
    assert "broker" in body["errors"]


def test_healthz_is_not_cached(client):
    response = client.get("/healthz")
    assert "no-cache" in response["Cache-Control"]


# What a production deployment sets, and what the container's healthcheck and a load balancer send.
PRODUCTION_HOSTS = ["papers.example.com"]
HEALTHCHECK_HOST = "127.0.0.1:8000"


def test_healthz_answers_a_host_not_in_allowed_hosts(client, settings):
    settings.ALLOWED_HOSTS = PRODUCTION_HOSTS
    response = client.get("/healthz", headers={"host": HEALTHCHECK_HOST})
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_healthz_is_not_redirected_to_https(client, settings):
    settings.ALLOWED_HOSTS = PRODUCTION_HOSTS
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", headers={"host": HEALTHCHECK_HOST})
    assert response.status_code == 200
    # The exemption is for /healthz alone: a page on the site's own host is still redirected.
    page = client.get("/", headers={"host": PRODUCTION_HOSTS[0]})
    assert page.status_code == 301
    assert page["Location"].startswith("https://")


def test_healthz_for_a_foreign_host_keeps_security_headers_and_methods(client, settings):
    settings.ALLOWED_HOSTS = PRODUCTION_HOSTS
    response = client.get("/healthz", headers={"host": HEALTHCHECK_HOST})
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "no-cache" in response["Cache-Control"]
    assert client.post("/healthz", headers={"host": HEALTHCHECK_HOST}).status_code == 405


def test_pages_other_than_healthz_still_refuse_a_host_not_in_allowed_hosts(client, settings):
    settings.ALLOWED_HOSTS = PRODUCTION_HOSTS
    assert client.get("/", headers={"host": HEALTHCHECK_HOST}).status_code == 400
    assert client.get("/healthz/", headers={"host": HEALTHCHECK_HOST}).status_code == 400
    assert client.get("/healthzx", headers={"host": HEALTHCHECK_HOST}).status_code == 400
