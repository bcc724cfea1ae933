"""Browser tests: Debian's Chromium driven by Playwright (sync API) against the whole suite.

Playwright's own browser download does not work here, so the tests launch the
Chromium that `python -m espace_deploy.testenv` installs at /usr/bin/chromium.
axe-core comes inside axe-playwright-python and is injected into the page by
`page.evaluate`: no network is needed.

The sync API runs its own event loop on a greenlet: the pytest process must not
be monkey-patched by eventlet (the root conftest does not patch it).
"""
import os
import sys
from pathlib import Path

import pytest

from .pages import NO_HORIZONTAL_SCROLL

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests run as root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"viewport": {"width": 375, "height": 667}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Every test of this folder drives the browser."""
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


def _eventlet_patched():
    eventlet = sys.modules.get("eventlet")
    return eventlet is not None and eventlet.patcher.is_monkey_patched("socket")


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session."""
    if _eventlet_patched():
        pytest.fail("the pytest process is monkey-patched by eventlet: Playwright's sync API cannot run in it")
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"no Chromium at {CHROMIUM}: run 'python -m espace_deploy.testenv' first")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, suite):
    """new_page(**context_options) opens a page in a fresh context (its own cookies) on the suite's gateway.

    Every asset must be self-hosted: a request to any other origin is blocked and fails the test.
    """
    contexts = []
    elsewhere = []

    def block(route):
        elsewhere.append(route.request.url)
        route.abort()

    def make(**options):
        settings = {"locale": "fr-FR", "timezone_id": "Europe/Paris", "base_url": suite.url, **DESKTOP, **options}
        context = browser.new_context(**settings)
        context.set_default_timeout(15_000)
        context.route(lambda url: not url.startswith(suite.url + "/"), block)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    assert not elsewhere, f"the page asked for assets outside the site: {elsewhere}"


@pytest.fixture
def page(new_page):
    """A desktop-sized page, fresh for each test."""
    return new_page()


@pytest.fixture
def phone_page(new_page):
    """A phone-sized page (375×667, touch, mobile viewport meta honoured)."""
    return new_page(**PHONE)


@pytest.fixture(scope="session")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.fixture
def assert_accessible(axe):
    """assert_accessible(page) fails listing each axe-core violation's id, impact and targets."""
    def check(page):
        results = axe.run(page)
        violations = results.response["violations"]
        if violations:
            lines = [f"{len(violations)} accessibility violation(s) on {page.url}:"]
            for violation in violations:
                targets = "; ".join(" ".join(map(str, node["target"])) for node in violation["nodes"])
                lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} -> {targets}")
            pytest.fail("\n".join(lines), pytrace=False)
        return results
    return check


@pytest.fixture
def check(assert_accessible):
    """No axe-core violation, and no horizontal scroll on the page's viewport."""
    def run(page):
        assert page.evaluate(NO_HORIZONTAL_SCROLL), f"horizontal scroll on {page.url}"
        assert_accessible(page)
    return run
