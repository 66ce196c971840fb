"""The prompt registry on SQLite and PostgreSQL: versions, labels, audit, diff, rollback, concurrency."""

from __future__ import annotations

import random
import threading

import pytest
from sqlalchemy import Engine

from tenbin.errors import InvalidInput, NotFound
from tenbin.prompts import registry


def _push(engine: Engine, template: str, name: str = "greeting", **more: object) -> dict:
    return registry.push(engine, "shop", {"name": name, "template": template, **more})


def test_versions_are_numbered_per_prompt_and_immutable(engine: Engine) -> None:
    first = _push(engine, "Hello {{ name }}", message="first", author="ana")
    second = _push(engine, "Hi {{ name }}!", model="smollm2-135m-instruct", params={"temperature": 0.2})
    other = _push(engine, "Bye", name="farewell")
    assert (first["version"], second["version"], other["version"]) == (1, 2, 1)
    got = registry.get(engine, "shop", "greeting", version=1)
    assert got["template"] == "Hello {{ name }}" and got["message"] == "first" and got["author"] == "ana"
    assert got["variables"] == [{"name": "name", "type": "any"}]
    assert registry.get(engine, "shop", "greeting")["version"] == 2
    assert registry.get(engine, "shop", "greeting", label="latest")["params"] == {"temperature": 0.2}
    listing = {p["name"]: p for p in registry.list_prompts(engine, "shop")}
    assert listing["greeting"]["latest_version"] == 2 and listing["greeting"]["versions"] == 2
    assert [v["version"] for v in registry.list_versions(engine, "shop", "greeting")] == [2, 1]


def test_chat_template_with_declared_variables_round_trips(engine: Engine) -> None:
    messages = [{"role": "system", "content": "You help {company} customers."}, {"role": "user", "content": "{question}"}]
    _push_chat = registry.push(engine, "shop", {"name": "support", "messages": messages,
                                                "variables": {"company": {"type": "string", "default": "Kumo"}}})
    assert _push_chat["format"] == "fstring"
    template = registry.template_of(registry.get(engine, "shop", "support", version=1))
    assert template.render(question="Where is my order?") == [
        {"role": "system", "content": "You help Kumo customers."}, {"role": "user", "content": "Where is my order?"}]


def test_labels_move_and_every_move_is_audited(engine: Engine) -> None:
    for text in ("v1", "v2", "v3"):
        _push(engine, text)
    registry.move_label(engine, "shop", "greeting", "production", 1, author="ana")
    registry.move_label(engine, "shop", "greeting", "staging", 3, author="bo")
    registry.move_label(engine, "shop", "greeting", "production", 2, author="ana", reason="better tone")
    assert registry.get(engine, "shop", "greeting", label="production")["template"] == "v2"
    assert registry.get(engine, "shop", "greeting", version=3)["labels"] == ["staging"]
    back = registry.rollback(engine, "shop", "greeting", "production", author="cy")
    assert (back["from_version"], back["to_version"]) == (2, 1)
    assert registry.get(engine, "shop", "greeting", label="production")["version"] == 1
    log = registry.audit_log(engine, "shop", "greeting")
    assert [(m["label"], m["from_version"], m["to_version"], m["author"]) for m in log] == [
        ("production", 2, 1, "cy"), ("production", 1, 2, "ana"), ("staging", None, 3, "bo"), ("production", None, 1, "ana")]
    assert log[1]["reason"] == "better tone" and log[0]["reason"] == "rollback from version 2"


def test_unknown_prompt_version_or_label_says_what_exists(engine: Engine) -> None:
    _push(engine, "v1")
    _push(engine, "v2")
    registry.move_label(engine, "shop", "greeting", "staging", 1)
    registry.move_label(engine, "shop", "greeting", "canary", 2)
    with pytest.raises(NotFound, match="no version labelled 'production'; labels are: canary, staging"):
        registry.get(engine, "shop", "greeting", label="production")
    with pytest.raises(NotFound, match="no version 7; versions are 1 to 2"):
        registry.get(engine, "shop", "greeting", version=7)
    with pytest.raises(NotFound, match="no prompt named 'greting'; prompts are: greeting"):
        registry.get(engine, "shop", "greting")
    with pytest.raises(NotFound, match="no version 9"):
        registry.move_label(engine, "shop", "greeting", "production", 9)
    assert registry.audit_log(engine, "shop", "greeting")[0]["label"] == "canary"


@pytest.mark.parametrize("data, message", [
    ({"name": "p", "template": "Hi {{ name "}, "does not parse"),
    ({"name": "p", "template": "{{ ''.__class__.__mro__ }}"}, "refused"),
    ({"name": "p", "template": "x", "variables": ["name"]}, "declared but the template never uses"),
    ({"name": "p", "template": "x", "messages": [{"role": "user", "content": "y"}]}, "exactly one of"),
    ({"name": "bad name!", "template": "x"}, "prompt name"),
    ({"name": "p", "template": "x", "colour": "red"}, "unknown field"),
    ({"name": "p", "template": "{a.b}", "format": "fstring"}, "only plain names"),
])
def test_invalid_versions_are_refused_and_store_nothing(engine: Engine, data: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        registry.push(engine, "shop", data)
    with pytest.raises(NotFound):
        registry.get(engine, "shop", "p")


def test_bad_labels_are_refused(engine: Engine) -> None:
    _push(engine, "v1")
    for label in ("latest", "", "has space", "../x"):
        with pytest.raises(InvalidInput):
            registry.move_label(engine, "shop", "greeting", label, 1)
    with pytest.raises(InvalidInput, match="no earlier version"):
        registry.rollback(engine, "shop", "greeting", "production")


def test_diff_shows_template_lines_and_changed_fields(engine: Engine) -> None:
    _push(engine, "Hello {{ name }}.\nHow can I help?", model="m1")
    _push(engine, "Hi {{ name }}!\nHow can I help?", model="m2", params={"temperature": 0})
    result = registry.diff(engine, "shop", "greeting", 1, 2)
    assert "-Hello {{ name }}." in result["template_diff"] and "+Hi {{ name }}!" in result["template_diff"]
    assert " How can I help?" in result["template_diff"]
    assert {f["field"]: (f["from"], f["to"]) for f in result["fields"]} == {
        "model": ("m1", "m2"), "params": ({}, {"temperature": 0})}


def test_concurrent_label_moves_leave_a_consistent_audit_chain(engine: Engine) -> None:
    for i in range(4):
        _push(engine, f"v{i + 1}")
    moves, errors = 16, []
    targets = [random.Random(i).randint(1, 4) for i in range(moves)]

    def move(version: int) -> None:
        try:
            registry.move_label(engine, "shop", "greeting", "production", version, author="t")
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=move, args=(v,)) for v in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    log = list(reversed(registry.audit_log(engine, "shop", "greeting")))
    assert len(log) == moves
    assert log[0]["from_version"] is None
    assert all(log[i]["from_version"] == log[i - 1]["to_version"] for i in range(1, moves))
    assert sorted(m["to_version"] for m in log) == sorted(targets)
    assert registry.get(engine, "shop", "greeting", label="production")["version"] == log[-1]["to_version"]


def test_concurrent_pushes_get_distinct_version_numbers(engine: Engine) -> None:
    threads = [threading.Thread(target=_push, args=(engine, f"t{i}")) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    versions = registry.list_versions(engine, "shop", "greeting")
    assert sorted(v["version"] for v in versions) == list(range(1, 9))
    assert sorted(v["template"] for v in versions) == sorted(f"t{i}" for i in range(8))
