"""Debian's Chromium for the browser tests, driven by Playwright's sync API (never a downloaded browser)."""

from collections.abc import Iterator
from contextlib import contextmanager

CHROMIUM_PATH = "/usr/bin/chromium"  # `make browser` installs it with apt
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip


@contextmanager
def launched_chromium() -> Iterator:
    """A headless Chromium browser, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
