"""The prompt registry over real HTTP (`tenbin.Client` and raw requests), on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import Engine

from tenbin.client import Client
from tenbin.errors import Forbidden, NotFound
from tenbin.server.app import create_app
from tenbin.store.keys import create_key
from tests.conftest import RunningServer


@pytest.fixture
def client(server):  # type: ignore[no-untyped-def]
    with Client(server.url) as c:
        yield c


def test_push_label_fetch_diff_and_audit_through_the_client(client: Client) -> None:
    v1 = client.push_prompt({"name": "greeting", "template": "Hello {{ name }}", "message": "first"}, project="shop")
    v2 = client.push_prompt({"name": "greeting", "messages": [{"role": "system", "content": "Be brief."},
                                                              {"role": "user", "content": "Hi {name}"}],
                             "model": "m", "params": {"temperature": 0}}, project="shop")
    assert (v1["version"], v2["version"], v2["format"]) == (1, 2, "fstring")
    move = client.move_prompt_label("greeting", "production", 1, project="shop", author="ana", reason="launch")
    assert (move["from_version"], move["to_version"]) == (None, 1)
    client.move_prompt_label("greeting", "production", 2, project="shop", author="bo")
    assert client.prompt("greeting", project="shop", label="production")["messages"][1]["content"] == "Hi {name}"
    assert client.prompt("greeting", project="shop", version=1)["template"] == "Hello {{ name }}"
    assert client.prompts("shop")[0] | {"created_us": 0, "updated_us": 0} == {
        "name": "greeting", "latest_version": 2, "versions": 2, "labels": {"production": 2},
        "created_us": 0, "updated_us": 0}
    diff = client.prompt_diff("greeting", 1, 2, project="shop")
    assert "-Hello {{ name }}" in diff["template_diff"] and "+[system]" in diff["template_diff"]
    assert {f["field"] for f in diff["fields"]} >= {"format", "model", "params"}
    assert [(m["from_version"], m["to_version"], m["author"]) for m in client.prompt_audit("greeting", "shop")] == [
        (1, 2, "bo"), (None, 1, "ana")]


def test_unknown_prompt_version_and_label_are_404_with_what_exists(client: Client, server) -> None:  # type: ignore[no-untyped-def]
    client.push_prompt({"name": "greeting", "template": "Hi"}, project="shop")
    client.move_prompt_label("greeting", "staging", 1, project="shop")
    with pytest.raises(NotFound, match="labels are: staging"):
        client.prompt("greeting", project="shop", label="production")
    with pytest.raises(NotFound, match="versions are 1 to 1"):
        client.prompt("greeting", project="shop", version=3)
    with pytest.raises(NotFound, match="prompts are: greeting"):
        client.prompt("nope", project="shop")
    r = httpx.put(f"{server.url}/api/v1/projects/shop/prompts/greeting/labels/production", json={"version": 5})
    assert r.status_code == 404 and "no version 5" in r.json()["detail"]


@pytest.mark.parametrize("body, fragment", [
    ({"name": "p", "template": "{{ x "}, "does not parse"),
    ({"name": "p", "template": "{{ cycler.__init__.__globals__ }}"}, "refused"),
    ({"name": "p"}, "exactly one of"),
    ({"name": "p", "template": "{x.y}", "format": "fstring"}, "only plain names"),
])
def test_invalid_templates_are_400_naming_the_problem(server, body: dict, fragment: str) -> None:  # type: ignore[no-untyped-def]
    r = httpx.post(f"{server.url}/api/v1/projects/shop/prompts", json=body)
    assert r.status_code == 400 and fragment in r.json()["detail"]
    assert httpx.get(f"{server.url}/api/v1/projects/shop/prompts").json() == []


def test_render_reports_the_text_and_its_token_count(client: Client, server) -> None:  # type: ignore[no-untyped-def]
    client.push_prompt({"name": "q", "template": "Answer briefly: {{ question }}", "model": "gpt-4o"}, project="shop")
    url = f"{server.url}/api/v1/projects/shop/prompts/q/render"
    r = httpx.post(url, json={"variables": {"question": "why?"}})
    assert r.status_code == 200
    assert r.json()["rendered"] == "Answer briefly: why?"
    assert r.json()["tokens"]["exact"] is False and r.json()["tokens"]["count"] > 0
    bad = httpx.post(url, json={"variables": {}})
    assert bad.status_code == 400 and "missing variable(s) ['question']" in bad.json()["detail"]


def test_a_key_only_reaches_its_own_projects_prompts(engine: Engine) -> None:
    key = create_key(engine, "shop")
    create_key(engine, "other")
    with RunningServer(create_app(engine=engine, auth=True)) as srv, Client(srv.url, api_key=key) as c:
        c.push_prompt({"name": "p", "template": "x"}, project="shop")
        assert c.prompt("p", project="shop")["version"] == 1
        with pytest.raises(Forbidden):
            c.prompts("other")
        with pytest.raises(Forbidden):
            c.push_prompt({"name": "p", "template": "x"}, project="other")
