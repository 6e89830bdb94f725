"""Headless Chromium (Debian's, driven by Playwright) against the live test server.

Playwright's own browser download is not used: the tests run the system Chromium that `make test`
installs, and are skipped with the reason when it is missing. Screenshots of every page, wide and at
phone width, go to test-artifacts/browser/.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API keeps an event loop in this thread; the ORM calls the fixtures make are
# still plain synchronous code, which Django would otherwise refuse next to a loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
PASSWORD = "demo-password-for-tests"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: runs headless Chromium (skipped when it is not installed)")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    missing = not os.access(CHROMIUM, os.X_OK)
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)
            if missing:
                item.add_marker(pytest.mark.skip(reason=f"no Chromium at {CHROMIUM}: apt-get install chromium"))


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def site(live_server, transactional_db):
    """The demo catalog, committed for the server's thread, with passwords for the personas."""
    from django.contrib.auth import get_user_model

    from chatops_site.demo import seed_catalog

    seed_catalog(delay="0s")
    for user in get_user_model().objects.all():
        user.set_password(PASSWORD)
        user.save()
    return live_server


class Visit:
    """One logged-in browser tab that records JavaScript errors."""

    def __init__(self, browser, base_url: str, username: str, viewport: dict):
        self.base_url = base_url
        self.context = browser.new_context(viewport=viewport)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(f"{base_url}/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"{base_url}/")

    def open(self, path: str):
        self.page.goto(f"{self.base_url}{path}")
        return self.page

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def sideways_overflow(self) -> int:
        """How many pixels the page is wider than the window (0: no sideways scrolling)."""
        return self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.fixture
def visit(chromium, site):
    """`visit("alice")` or `visit("bob", PHONE)`: a logged-in tab; fails the test on any console error."""
    opened: list[Visit] = []

    def start(username: str, viewport: dict = LAPTOP) -> Visit:
        tab = Visit(chromium, site.url, username, viewport)
        opened.append(tab)
        return tab

    yield start
    errors = [error for tab in opened for error in tab.errors]
    for tab in opened:
        tab.context.close()
    assert errors == [], f"JavaScript console errors: {errors}"
