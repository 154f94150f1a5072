"""Access to the real services tests need. Missing services fail the test under CI and skip it elsewhere."""

import os

import pytest
import redis

# Tests that need Redis use REDIS_URL when set (CI), else a local server on its default port.
TEST_REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


def service_missing(what: str) -> None:
    """Fail under CI (a missing service must never turn green by skipping); skip on a laptop."""
    message = f"{what} is not reachable"
    if os.environ.get("CI"):
        pytest.fail(f"{message}, and CI is set: start it (see DEVELOPERS.md)")
    pytest.skip(message)


def require_redis(url: str = TEST_REDIS_URL) -> redis.Redis:
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        service_missing(f"Redis at {url}")
    return client


def terminate_django_connection() -> int:
    """End the Postgres server process behind Django's default connection from another connection,
    as a failover or an idle-connection killer would, and return its pid. Django finds out only
    when it next uses the connection."""
    import psycopg
    from django.db import connection

    from .processes import test_database_url

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    with psycopg.connect(test_database_url(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    return pid
