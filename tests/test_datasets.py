"""Datasets on both databases: versions, imports that are all-or-nothing with every bad line named,
examples from spans (by filter or id) with the reference, the output or nothing as expected output,
over REST and the SDK."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select

import tenbin
import tenbin.evals as ev
from tenbin.errors import InvalidInput, NotFound
from tenbin.evals import datasets
from tenbin.store import datasets as store
from tenbin.store.models import Dataset, DatasetExample

JSONL_BAD = "\n".join([
    '{"input": "How do refunds work?", "expected": "Billing → Refunds"}',
    "not json at all",
    '{"expected": "no input here"}',
    "",
    '{"input": "ok", "colour": "red"}',
    '{"input": {"question": "Hi"}, "metadata": {"topic": "greeting"}}',
])


def count(engine: Engine, table: type) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_adding_and_removing_examples_makes_new_versions_and_old_ones_keep_their_examples(engine: Engine) -> None:
    store.create_dataset(engine, "shop", "faq", datasets.check_all(enumerate([{"input": "a"}, {"input": "b"}], 1)))
    v1 = store.get_dataset(engine, "shop", "faq")
    first = v1["examples"][0]["id"]
    assert store.change_examples(engine, "shop", "faq", add=[{"input": "c", "expected": "C"}])["version"] == 2
    v3 = store.change_examples(engine, "shop", "faq", remove=[first], message="drop a")
    assert (v3["version"], v3["example_count"]) == (3, 2)
    assert [e["input"] for e in store.get_dataset(engine, "shop", "faq")["examples"]] == ["b", "c"]
    assert [e["input"] for e in store.get_dataset(engine, "shop", "faq", 1)["examples"]] == ["a", "b"]
    listed = store.list_datasets(engine, "shop")
    assert [(d["name"], d["version"], d["example_count"]) for d in listed] == [("faq", 3, 2)]
    with pytest.raises(InvalidInput, match="not in the latest version"):
        store.change_examples(engine, "shop", "faq", remove=[first])
    with pytest.raises(NotFound, match="no version 9; versions are 1 to 3"):
        store.get_dataset(engine, "shop", "faq", 9)


def test_a_taken_name_is_refused(engine: Engine) -> None:
    store.create_dataset(engine, "shop", "faq", [{"input": "a"}])
    with pytest.raises(InvalidInput, match="already exists"):
        store.create_dataset(engine, "shop", "faq", [{"input": "b"}])
    assert count(engine, DatasetExample) == 1


def test_jsonl_with_bad_rows_reports_every_bad_line_and_imports_nothing(server, engine: Engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "faq.jsonl"
    path.write_text(JSONL_BAD)
    with pytest.raises(InvalidInput) as caught:
        ev.create_dataset("faq", file=path, project="shop", endpoint=server.url)
    message = str(caught.value)
    assert "3 bad row(s), nothing imported" in message
    assert "line 2: not valid JSON" in message and "line 3: `input` is missing" in message
    assert "line 5: unknown field(s) ['colour']" in message
    assert [line.split(":")[0] for line in message.splitlines()[1:]] == ["line 2", "line 3", "line 5"]
    assert count(engine, Dataset) == 0 and count(engine, DatasetExample) == 0


def test_csv_with_bad_rows_reports_every_bad_line(tmp_path: Path) -> None:
    text = 'input,expected,topic,metadata\nhello,hi,greet,\n"two\nlines",x,y,{oops\n,,z,\nq,w\na,b,c,{},extra\n'
    with pytest.raises(InvalidInput) as caught:
        datasets.parse(text, "csv")
    lines = [line.split(":")[0] for line in str(caught.value).splitlines()[1:]]
    assert lines == ["line 3", "line 5", "line 6", "line 7"]
    good = datasets.parse('input,reference,topic,metadata\nhello,hi,greet,"{""k"": 1}"\n', "csv")
    assert good == [{"input": "hello", "expected": "hi", "metadata": {"topic": "greet", "k": 1}, "source_span_id": None}]


def test_past_fifty_bad_rows_the_rest_are_still_named_by_line() -> None:
    text = "\n".join('{"input": ""}' if n % 2 else '{"input": "fine"}' for n in range(1, 131))
    with pytest.raises(InvalidInput) as caught:
        datasets.parse(text, "jsonl")
    message = str(caught.value)
    odd = list(range(1, 131, 2))
    assert message.startswith("65 bad row(s), nothing imported")
    assert [line.split(":")[0] for line in message.splitlines()[1:51]] == [f"line {n}" for n in odd[:50]]
    assert message.splitlines()[-1] == "also bad, lines: " + ", ".join(map(str, odd[50:]))


def test_a_rest_import_with_one_bad_example_stores_nothing(server, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    body = {"name": "faq", "examples": [{"input": "fine"}, {"input": ""}, {"input": 3}]}
    response = httpx.post(f"{server.url}/api/v1/projects/shop/datasets", json=body)
    assert response.status_code == 400
    assert "example 2:" in response.json()["detail"] and "example 3:" in response.json()["detail"]
    assert count(engine, DatasetExample) == 0


def seed_spans(url: str) -> dict[str, str]:
    ids: dict[str, str] = {}
    tenbin.init(url, project="shop")
    try:
        with tenbin.span("answer", input="How do refunds work?", metadata={"reference": "Billing → Refunds"}) as s:
            s.set_output("Open Billing.")
            ids["answer"] = s.span_id or ""
        with tenbin.span("greet", input="hello") as s:
            s.set_output("hi")
            ids["greet"] = s.span_id or ""
        tenbin.flush()
    finally:
        tenbin.shutdown()
    return ids


def test_dataset_from_a_filter_over_spans_takes_the_reference_as_expected_output(server, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    ids = seed_spans(server.url)
    made = ev.create_dataset("from-spans", filter='name == "answer"', project="shop", endpoint=server.url)
    assert (made["version"], made["example_count"]) == (1, 1)
    (example,) = ev.get_dataset("from-spans", project="shop", endpoint=server.url)["examples"]
    assert (example["input"], example["expected"], example["source_span_id"]) == (
        "How do refunds work?", "Billing → Refunds", ids["answer"])
    grown = ev.update_dataset("from-spans", span_ids=[ids["greet"]], message="add greeting", project="shop",
                              endpoint=server.url)
    assert (grown["version"], grown["example_count"], grown["message"]) == (2, 2, "add greeting")
    with pytest.raises(InvalidInput, match="no spans of project 'shop' match"):
        ev.create_dataset("none", filter='name == "nothing"', project="shop", endpoint=server.url)


def test_collect_takes_the_expected_output_from_the_reference_the_output_or_nothing(server, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    ids = seed_spans(server.url)
    chosen = {"reference": "Billing → Refunds", "output": "Open Billing.", "none": None}
    for expected_from, expected in chosen.items():
        (by_id,) = datasets.collect(engine, "shop", span_ids=[ids["answer"]], expected_from=expected_from)
        (by_filter,) = datasets.collect(engine, "shop", filter='name == "answer"', expected_from=expected_from)
        assert by_id["expected"] == by_filter["expected"] == expected, expected_from
        assert (by_id["input"], by_id["source_span_id"]) == ("How do refunds work?", ids["answer"])
    assert datasets.collect(engine, "shop", span_ids=[ids["answer"]])[0]["expected"] == "Billing → Refunds"
    with pytest.raises(InvalidInput, match="expected_from must be one of reference, output, none; got 'outputs'"):
        datasets.collect(engine, "shop", span_ids=[ids["answer"]], expected_from="outputs")


def test_rest_and_sdk_pass_expected_from_and_refuse_an_unknown_one_storing_nothing(server, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    ids = seed_spans(server.url)
    url = f"{server.url}/api/v1/projects/shop/datasets"
    bad = httpx.post(url, json={"name": "golden", "span_ids": [ids["answer"]], "expected_from": "gold"})
    assert bad.status_code == 422 and "'reference', 'output' or 'none'" in bad.text
    with pytest.raises(InvalidInput, match="expected_from must be one of reference, output, none; got 'gold'"):
        ev.create_dataset("golden", span_ids=[ids["answer"]], expected_from="gold", project="shop", endpoint=server.url)
    assert count(engine, Dataset) == 0 and count(engine, DatasetExample) == 0
    made = httpx.post(url, json={"name": "golden", "span_ids": [ids["answer"]], "expected_from": "output"})
    assert made.status_code == 201, made.text
    ev.update_dataset("golden", filter='name == "greet"', expected_from="output", project="shop", endpoint=server.url)
    ev.update_dataset("golden", span_ids=[ids["answer"]], expected_from="none", project="shop", endpoint=server.url)
    again = httpx.post(f"{url}/golden/versions", json={"span_ids": [ids["answer"]], "expected_from": "gold"})
    assert again.status_code == 422
    examples = ev.get_dataset("golden", project="shop", endpoint=server.url)["examples"]
    assert [(e["source_span_id"], e["expected"]) for e in examples] == [
        (ids["answer"], "Open Billing."), (ids["greet"], "hi"), (ids["answer"], None)]
    assert ev.get_dataset("golden", project="shop", endpoint=server.url)["version"] == 3
