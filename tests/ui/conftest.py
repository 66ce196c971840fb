"""Browser tests: Playwright drives Debian's Chromium against a real tenbin server with real data.

The data comes from the demo's support bot (SDK + the real openai client traced by the public
OpenInference instrumentor, against the scripted LLM), sent over OTLP like any app would.
Screenshots land in test-artifacts/screenshots (git-ignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

import tenbin
from tenbin.loopback import LoopbackServer
from tenbin.server.app import create_app
from tenbin.store.engine import make_engine

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    context.close()


def seed(url: str, conversations: int = 24) -> None:
    """Run the demo support bot against `url`, plus one conversation carrying an XSS payload."""
    from tests.ui.workload import run_workload

    run_workload(url, conversations, extra_questions=[("xss-session", "billing", XSS)])


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackServer]:
    """A real server on a fresh SQLite file, seeded with the demo workload (one per test module)."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('ui') / 'tenbin.db'}")
    with LoopbackServer(create_app(engine=engine, auth=False)) as srv:
        seed(srv.url)
        yield srv
    tenbin.shutdown()
    engine.dispose()
