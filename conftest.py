"""Fixtures shared by every app's tests, and the rule for tests that need Postgres or Redis.

`@pytest.mark.postgres` (about Postgres behaviour: plans, COPY, json_to_recordset) and
`@pytest.mark.redis` (needs the Redis of REDIS_URL) are skipped with their reason in a run that was
not given the service, and a skip of such a test in a run that was given it is a failure: a Postgres
run can never turn green by skipping what it is there to prove.
"""

import pytest

from testsupport.browser import launched_chromium
from testsupport.http import LoopbackServer
from testsupport.services import POSTGRES_MISSING, REDIS_MISSING, TEST_REDIS_URL, on_postgres


def pytest_collection_modifyitems(config, items):
    missing = {}
    if not on_postgres():
        missing["postgres"] = POSTGRES_MISSING
    if TEST_REDIS_URL is None:
        missing["redis"] = REDIS_MISSING
    for item in items:
        for marker, reason in missing.items():
            if item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=reason))


def _given_services(item) -> list[str]:
    given = []
    if item.get_closest_marker("postgres") and on_postgres():
        given.append("Postgres")
    if item.get_closest_marker("redis") and TEST_REDIS_URL is not None:
        given.append("Redis")
    return given


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.skipped and not hasattr(report, "wasxfail") and (given := _given_services(item)):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in a run that was given {' and '.join(given)}, which it needs: {reason}"
    return report


@pytest.fixture
def chromium(monkeypatch):
    """Headless Chromium (testsupport.browser). Playwright's sync API runs an event loop in the test's
    thread; the ORM calls a test makes are still plain synchronous calls, so Django's guard against
    async callers does not apply."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def loopback():
    """A loopback HTTP server the test scripts (feeds, providers)."""
    with LoopbackServer() as server:
        yield server


def _clear_cache() -> None:
    from django.conf import settings
    from django.core.cache import cache

    prefix = settings.CACHES["default"].get("KEY_PREFIX")
    if settings.CACHES["default"]["BACKEND"].endswith("RedisCache") and prefix:
        # RedisCache.clear() is FLUSHDB, which would also drop the Celery broker's queues when both
        # share one Redis database (as REDIS_URL makes them): delete only the cache's own keys.
        client = cache._cache.get_client(write=True)
        keys = list(client.scan_iter(f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits, locks and page shells live in caches: no test sees another's counters or pages."""
    from subscriptions.shells import clear_local

    _clear_cache()
    clear_local()
    yield
    _clear_cache()
    clear_local()
