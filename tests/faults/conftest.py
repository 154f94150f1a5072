"""The fault matrix: real Postgres, a redis-server per case, Celery workers as subprocesses, a loopback
provider that fails on demand. Each case records its row; the table is printed at the end of the run."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser

import pytest

from newsletter.admin import DeliveryAdmin
from newsletter.models import Delivery

from .harness import HEADER, Tally

_MATRIX: list[Tally] = []


@pytest.fixture(autouse=True)
def _redis_server_installed():
    """The matrix runs on Postgres (its marker) and starts a redis-server of its own per case."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: each fault case starts its own (DEVELOPERS.md)")


@pytest.fixture(autouse=True)
def _fresh_paper_pool():
    from newsletter.selectors import forget_pool

    forget_pool()
    yield
    forget_pool()


@pytest.fixture
def matrix():
    """Record a case's tally for the table printed at the end of the session."""
    return _MATRIX.append


class _ChangelistRows(HTMLParser):
    """Subscriber addresses listed in the Delivery changelist's result table."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.emails: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        if tag == "td" and "field-subscriber_email" in (dict(attrs).get("class") or ""):
            self._in_cell = True
            self.emails.append("")

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_cell = False

    def handle_data(self, data):
        if self._in_cell:
            self.emails[-1] += data.strip()


@pytest.fixture
def assert_unknown_shown_in_admin(admin_client):
    """The admin's Delivery list filtered to `unknown` lists exactly the unknown rows (first page)."""

    def check() -> int:
        unknown = Delivery.objects.filter(status=Delivery.Status.UNKNOWN).select_related("subscriber")
        # The first page in the admin's own order and size: the check is that the filter finds them.
        first_page = unknown.order_by(*DeliveryAdmin.ordering)[: DeliveryAdmin.list_per_page]
        expected = [d.subscriber.email for d in first_page]
        response = admin_client.get("/admin/newsletter/delivery/", {"status__exact": "unknown"})
        assert response.status_code == 200
        page = response.content.decode()
        rows = _ChangelistRows()
        rows.feed(page)
        rows.close()
        assert rows.emails == expected, "the admin's unknown filter does not list the unknown rows"
        total = unknown.count()
        if total:
            assert f"{total} deliver" in page, "the admin does not show how many rows are unknown"
            assert 'value="send_again"' in page, "no 'send again' action next to the unknown rows"
        return total

    return check


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _MATRIX:
        return
    rows = [HEADER] + [t.row() for t in _MATRIX]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    terminalreporter.section("fault matrix")
    for n, row in enumerate(rows):
        pairs = enumerate(zip(row, widths, strict=True))
        cells = [cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in pairs]
        terminalreporter.write_line("  ".join(cells))
        if n == 0:
            terminalreporter.write_line("  ".join("-" * w for w in widths))
    for t in _MATRIX:
        if t.note:
            terminalreporter.write_line(f"{t.case}: {t.note}")
