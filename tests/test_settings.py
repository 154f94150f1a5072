"""Settings read the environment in one place; nothing set means embedded defaults."""

import json
import subprocess
import sys

from testsupport.processes import ROOT, process_env

_PROBE = """
import json, django
from django.conf import settings
django.setup()
from config.celery import app
print(json.dumps({
    "db_engine": settings.DATABASES["default"]["ENGINE"],
    "db_name": str(settings.DATABASES["default"]["NAME"]),
    "db_host": settings.DATABASES["default"].get("HOST", ""),
    "email_backend": settings.EMAIL_BACKEND,
    "email_host": getattr(settings, "EMAIL_HOST", ""),
    "email_port": getattr(settings, "EMAIL_PORT", 0),
    "broker": app.conf.broker_url,
    "cache": settings.CACHES["default"]["BACKEND"],
    "anymail": settings.ANYMAIL,
    "site_url": settings.SITE_URL,
    "debug": settings.DEBUG,
    "serializer": app.conf.task_serializer,
    "accept": list(app.conf.accept_content),
    "acks_late": app.conf.task_acks_late,
    "reject_on_lost": app.conf.task_reject_on_worker_lost,
    "prefetch": app.conf.worker_prefetch_multiplier,
    "soft_limit": app.conf.task_soft_time_limit,
    "hard_limit": app.conf.task_time_limit,
    "visibility": (app.conf.broker_transport_options or {}).get("visibility_timeout"),
    "queues": sorted(q.name for q in app.conf.task_queues),
    "knobs": {name: getattr(settings, name) for name in (
        "NEWSLETTER_DIGEST_SIZE", "NEWSLETTER_QUIET_DAY", "PAPERS_TRENDING_HALF_LIFE_HOURS",
        "SUBSCRIPTIONS_EMBED_ORIGINS") if hasattr(settings, name)},
    "renamed": settings.PAPERBOY_RENAMED_VARIABLES,
}))
"""

_SETTINGS_VARS = (
    "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_URL", "EMAIL_PROVIDER", "EMAIL_BACKEND",
    "SECRET_KEY", "DEBUG", "SITE_URL", "PAPERBOY_RUN_PORT",
)  # fmt: skip


def _settings_under(tmp_path, **env) -> dict:
    clean = dict.fromkeys(_SETTINGS_VARS)
    overrides = {**clean, "PAPERBOY_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings"}
    overrides.update(env)
    out = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env=process_env(**overrides),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_nothing_set_means_embedded_defaults_under_var(tmp_path):
    s = _settings_under(tmp_path)
    assert s["db_engine"] == "django.db.backends.sqlite3"
    assert s["db_name"] == str(tmp_path / "paperboy.sqlite3")
    assert s["email_backend"] == "mailing.outbox.OutboxEmailBackend"
    assert s["broker"].startswith("filesystem://")
    assert s["cache"] == "config.filecache.LockedFileBasedCache"  # add and incr atomic across processes
    assert s["site_url"] == "http://127.0.0.1:8000"
    assert s["debug"] is True


def test_services_come_from_the_environment(tmp_path):
    s = _settings_under(
        tmp_path,
        DATABASE_URL="postgres://u:p@db.internal:5432/paperboy",
        REDIS_URL="redis://cache.internal:6379/2",
        EMAIL_URL="smtp://relay.internal:2525",
        SITE_URL="https://papers.example.com/",
        SECRET_KEY="x" * 60,
    )
    assert s["db_engine"] == "django.db.backends.postgresql"
    assert s["db_host"] == "db.internal"
    assert s["broker"] == "redis://cache.internal:6379/2"
    assert s["cache"].endswith("RedisCache")
    assert s["email_backend"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (s["email_host"], s["email_port"]) == ("relay.internal", 2525)
    assert s["site_url"] == "https://papers.example.com"
    assert s["debug"] is False  # a real SECRET_KEY means production


def test_the_port_make_run_serves_on_is_the_link_base_unless_site_url_is_set(tmp_path):
    assert _settings_under(tmp_path, PAPERBOY_RUN_PORT="8311")["site_url"] == "http://127.0.0.1:8311"
    s = _settings_under(tmp_path, PAPERBOY_RUN_PORT="8311", SITE_URL="https://papers.example.com")
    assert s["site_url"] == "https://papers.example.com"


_BROKER_PROBE = """
import django
django.setup()
from config.celery import app
with app.connection_for_write() as connection:
    connection.info()
    connection.clone().info()
    print(connection.as_uri())
"""


def test_the_embedded_broker_url_names_a_host_so_kombu_never_warns_about_it(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", _BROKER_PROBE],
        cwd=ROOT,
        env=process_env(
            **dict.fromkeys(_SETTINGS_VARS),
            PAPERBOY_VAR_DIR=str(tmp_path),
            DJANGO_SETTINGS_MODULE="config.settings",
        ),
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.startswith("filesystem://")
    assert "No hostname" not in proc.stderr, proc.stderr


def test_an_esp_and_its_anymail_settings_come_from_the_environment(tmp_path):
    s = _settings_under(
        tmp_path,
        EMAIL_PROVIDER="postmark",
        ANYMAIL_POSTMARK_SERVER_TOKEN="server-token",
        ANYMAIL_POSTMARK_API_URL="http://127.0.0.1:9/",
        CELERY_BROKER_URL="redis://broker.internal:6379/0",
    )
    # Our subclass of anymail's Postmark backend (adds the batch endpoint).
    assert s["email_backend"] == "mailing.backends.postmark.EmailBackend"
    assert s["anymail"]["POSTMARK_SERVER_TOKEN"] == "server-token"
    assert s["anymail"]["POSTMARK_API_URL"] == "http://127.0.0.1:9/"
    assert s["broker"] == "redis://broker.internal:6379/0"


def test_an_unknown_esp_is_a_clear_error(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env=process_env(PAPERBOY_VAR_DIR=str(tmp_path), EMAIL_PROVIDER="carrier-pigeon"),
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert "EMAIL_PROVIDER='carrier-pigeon' is not one of" in proc.stderr


def test_the_http_providers_timeout_is_a_number(tmp_path):
    # Text from the environment would make requests refuse every batch call (all digests `unknown`).
    assert _settings_under(tmp_path, ANYMAIL_REQUESTS_TIMEOUT="1.5")["anymail"]["REQUESTS_TIMEOUT"] == 1.5
    assert _settings_under(tmp_path, EMAIL_TIMEOUT="12")["anymail"]["REQUESTS_TIMEOUT"] == 12.0
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env=process_env(PAPERBOY_VAR_DIR=str(tmp_path), ANYMAIL_REQUESTS_TIMEOUT="soon"),
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert "ANYMAIL_REQUESTS_TIMEOUT must be a number of seconds" in proc.stderr


def test_production_without_secret_key_refuses_to_start(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env=process_env(PAPERBOY_VAR_DIR=str(tmp_path), DEBUG="false", SECRET_KEY=None),
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert "SECRET_KEY must be set" in proc.stderr


def test_celery_is_configured_for_at_least_once_delivery_without_duplicates(tmp_path):
    s = _settings_under(tmp_path, REDIS_URL="redis://127.0.0.1:6379/0")
    assert s["serializer"] == "json" and s["accept"] == ["json"]
    assert s["acks_late"] is True and s["reject_on_lost"] is True
    assert s["prefetch"] == 1
    assert s["queues"] == ["ingest", "mail"]
    # A task must finish (or be killed) long before Redis would hand it to another worker.
    assert s["soft_limit"] < s["hard_limit"] < s["visibility"] / 4


def test_check_deploy_is_clean_in_production_settings(tmp_path):
    proc = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=process_env(
            PAPERBOY_VAR_DIR=str(tmp_path),
            SECRET_KEY="k3y-" + "q8Zr!x" * 10,
            DEBUG="false",
            SITE_URL="https://papers.example.com",
            ALLOWED_HOSTS="papers.example.com",
            DATABASE_URL=None,
        ),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "System check identified no issues" in proc.stdout


def _refused(tmp_path, **env) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env=process_env(PAPERBOY_VAR_DIR=str(tmp_path), **env),
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    return proc.stderr


def test_each_apps_knobs_come_from_the_environment_typed_by_their_defaults(tmp_path):
    s = _settings_under(
        tmp_path,
        NEWSLETTER_DIGEST_SIZE="7",
        PAPERS_TRENDING_HALF_LIFE_HOURS="12",
        SUBSCRIPTIONS_EMBED_ORIGINS="https://blog.example.org,https://example.net",
    )
    assert s["knobs"] == {
        "NEWSLETTER_DIGEST_SIZE": 7,
        "PAPERS_TRENDING_HALF_LIFE_HOURS": 12.0,
        "SUBSCRIPTIONS_EMBED_ORIGINS": ["https://blog.example.org", "https://example.net"],
    }  # what the environment does not set is left to the app's conf.py
    assert s["renamed"] == {}


def test_a_knob_of_the_wrong_type_or_choice_stops_the_start_naming_the_variable(tmp_path):
    assert "NEWSLETTER_DIGEST_SIZE must be a whole number" in _refused(tmp_path, NEWSLETTER_DIGEST_SIZE="ten")
    assert "NEWSLETTER_QUIET_DAY must be one of skip, email" in _refused(
        tmp_path, NEWSLETTER_QUIET_DAY="loud"
    )


def test_old_variable_names_still_work_and_the_check_names_the_new_one(tmp_path):
    s = _settings_under(tmp_path, PAPERBOY_DIGEST_SIZE="6", SIGNUP_EMBED_ORIGINS="https://old.example.org")
    assert s["knobs"]["NEWSLETTER_DIGEST_SIZE"] == 6
    assert s["knobs"]["SUBSCRIPTIONS_EMBED_ORIGINS"] == ["https://old.example.org"]
    assert s["renamed"] == {
        "PAPERBOY_DIGEST_SIZE": "NEWSLETTER_DIGEST_SIZE",
        "SIGNUP_EMBED_ORIGINS": "SUBSCRIPTIONS_EMBED_ORIGINS",
    }
    # The new name wins over the old one.
    both = _settings_under(tmp_path, PAPERBOY_DIGEST_SIZE="6", NEWSLETTER_DIGEST_SIZE="8")
    assert both["knobs"]["NEWSLETTER_DIGEST_SIZE"] == 8 and both["renamed"] == {}
    check = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=process_env(PAPERBOY_VAR_DIR=str(tmp_path), PAPERBOY_DIGEST_SIZE="6"),
        capture_output=True,
        text=True,
    )
    assert "paperboy.W003" in check.stderr + check.stdout
    assert "PAPERBOY_DIGEST_SIZE is an old name of NEWSLETTER_DIGEST_SIZE" in check.stderr + check.stdout


def test_importing_the_settings_writes_nothing_and_starting_django_makes_the_embedded_folders(tmp_path):
    var = tmp_path / "var"
    script = (
        "import importlib, os, sys; importlib.import_module('config.settings');"
        f"sys.stdout.write(str(os.path.exists({str(var)!r})));"
        "import django; django.setup();"
        f"sys.stdout.write(' ' + str(sorted(os.listdir({str(var / 'broker')!r}))))"
    )
    env = process_env(**dict.fromkeys(_SETTINGS_VARS), PAPERBOY_VAR_DIR=str(var))
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.stdout == "False ['control', 'queue']", out.stderr
