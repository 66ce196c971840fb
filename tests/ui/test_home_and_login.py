"""Projects page, the empty state, key sign-in with TENBIN_AUTH=1, and CSRF refusal."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tenbin.loopback import LoopbackServer
from tenbin.server.app import create_app
from tenbin.store.engine import make_engine
from tenbin.store.keys import create_key
from tests.otlp_data import make_request, make_span


def test_projects_page_lists_the_seeded_project(page: Page, ui_server) -> None:  # type: ignore[no-untyped-def]
    page.goto(ui_server.url)
    expect(page.get_by_role("link", name="acme-support")).to_be_visible()


def test_empty_server_explains_how_to_send_traces(page: Page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with LoopbackServer(create_app(f"sqlite:///{tmp_path / 'e.db'}", auth=False)) as srv:
        page.goto(srv.url)
        expect(page.get_by_text("No traces yet")).to_be_visible()
        expect(page.locator("pre").first).to_contain_text(f"{srv.url}/v1/traces")
        page.goto(f"{srv.url}/no/such/page")
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()


def test_with_auth_the_ui_asks_for_a_key_and_shows_only_its_project(page: Page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with LoopbackServer(create_app(engine=engine, auth=True)) as srv:
        key_a, key_b = create_key(engine, "alpha"), create_key(engine, "beta")
        for key in (key_a, key_b):
            r = httpx.post(f"{srv.url}/v1/traces", content=make_request([make_span()]).SerializeToString(),
                           headers={"content-type": "application/x-protobuf", "authorization": f"Bearer {key}"})
            assert r.status_code == 200
        page.goto(srv.url)
        expect(page).to_have_url(f"{srv.url}/login?next=/")
        page.get_by_label("API key").fill("tb_not_a_key")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("unknown")
        page.get_by_label("API key").fill(key_a)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("link", name="alpha")).to_be_visible()
        expect(page.get_by_role("link", name="beta")).to_have_count(0)


def test_post_without_csrf_token_is_refused(ui_server) -> None:  # type: ignore[no-untyped-def]
    r = httpx.post(f"{ui_server.url}/login", data={"key": "x", "csrf": "forged"}, cookies={"tenbin_csrf": "real"})
    assert r.status_code == 403 and "reload the page" in r.text
    r = httpx.post(f"{ui_server.url}/login", data={"key": "x", "csrf": "t"}, cookies={"tenbin_csrf": "t"},
                   headers={"origin": "https://evil.example"})
    assert r.status_code == 403
