"""Access to the real services tests need.

The rule: a test that needs Postgres or Redis carries the `postgres` or `redis` marker. It is skipped,
with its reason, only when the run was not given that service (nothing set: SQLite, no Redis), and it
fails when the run was given the service and the service is not there (conftest.py turns such a skip
into a failure). Tests never pick a Redis nobody named, so a developer's own Redis keeps its data.
"""

import os

import pytest
import redis

# The Redis the run was given (the one settings use for the cache and the broker), or None.
TEST_REDIS_URL: str | None = os.environ.get("REDIS_URL") or None

POSTGRES_MISSING = "about Postgres behaviour; this run is on SQLite (set DATABASE_URL=postgres://… to run it)"
REDIS_MISSING = "needs Redis, and this run was given none (set REDIS_URL=redis://… to run it)"


def on_postgres() -> bool:
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def require_redis() -> redis.Redis:
    """A client of the Redis this run was given; the test fails if it does not answer."""
    if TEST_REDIS_URL is None:
        pytest.skip(REDIS_MISSING)
    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"REDIS_URL={TEST_REDIS_URL} was given but does not answer ({error}): start it")
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
