"""`tenbin datasets …`, `tenbin eval run --dataset D --prompt NAME@VERSION` and `tenbin eval compare`
against a real server and a scripted model."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from tenbin.cli import app
from tenbin.prompts import registry
from tenbin.store import datasets as store
from tenbin.store.models import DatasetExample
from tests.test_datasets import seed_spans
from tests.test_experiments import model  # noqa: F401 - the scripted-model fixture

runner = CliRunner()
WIDE = {"COLUMNS": "220"}


def cli(server, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [*args, "--endpoint", server.url, "--project", "shop"], env=WIDE)


def test_import_show_export_round_trip_and_a_bad_file_imports_nothing(server, engine: Engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.csv"
    bad.write_text("input,expected\nfine,ok\n,missing input\nx,y,z\n")
    result = cli(server, "datasets", "import", "faq", str(bad))
    assert result.exit_code == 1 and "line 3:" in result.output and "line 4:" in result.output
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(DatasetExample)).scalar_one() == 0
    good = tmp_path / "faq.jsonl"
    good.write_text('{"input": {"question": "How do refunds work?"}, "expected": "Billing → Refunds"}\n'
                    '{"input": {"question": "Where is the office?"}, "expected": "Oslo"}\n')
    assert "version 1: 2 examples" in cli(server, "datasets", "import", "faq", str(good)).output
    assert "version 2: 4 examples" in cli(server, "datasets", "import", "faq", str(good), "--append").output
    listed = cli(server, "datasets", "ls").output
    assert "faq" in listed and "v2" in listed
    assert "versions: v2 (4), v1 (2)" in cli(server, "datasets", "show", "faq").output
    out = tmp_path / "out.csv"
    assert cli(server, "datasets", "export", "faq", str(out), "--version", "1").exit_code == 0
    again = cli(server, "datasets", "import", "copy", str(out))
    assert "version 1: 2 examples" in again.output, again.output


def test_create_from_filter_then_run_and_compare_experiments(server, engine: Engine, model) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    seed_spans(server.url)
    created = cli(server, "datasets", "create", "refunds", "--from-filter", 'name == "answer"')
    assert "version 1: 1 examples" in created.output, created.output
    registry.push(engine, "shop", {"name": "support", "template": "Answer well: {{ question }}"})
    registry.push(engine, "shop", {"name": "support", "template": "Answer badly: {{ question }}"})
    first = cli(server, "eval", "run", "--dataset", "refunds", "--prompt", "support@1", "--evaluators", "qa_correctness")
    assert first.exit_code == 0, first.output
    assert "See Billing → Refunds." in first.output and "correct 1.00" in first.output
    second = cli(server, "eval", "run", "--dataset", "refunds", "--prompt", "support@2", "--evaluators", "qa_correctness")
    assert "incorrect 0.00" in second.output
    compared = cli(server, "eval", "compare", "1", "2", "--json")
    (agg,) = json.loads(compared.output)["aggregates"]
    assert (agg["delta"], agg["n"], agg["ci_low"]) == (-1.0, 1, None)
    table = cli(server, "eval", "compare", "1", "2").output
    assert "-1.000" in table and "correct → incorrect" in table
    missing = cli(server, "eval", "run", "--dataset", "refunds", "--evaluators", "json_valid")
    assert missing.exit_code == 1 and "needs both --dataset and --prompt" in missing.output


def test_create_takes_the_expected_output_from_the_spans_output_and_refuses_an_unknown_choice(server, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    seed_spans(server.url)
    bad = cli(server, "datasets", "create", "golden", "--from-filter", 'name == "answer"', "--expected-from", "gold")
    assert bad.exit_code == 1 and "expected_from must be one of reference, output, none; got 'gold'" in bad.output
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(DatasetExample)).scalar_one() == 0
    made = cli(server, "datasets", "create", "golden", "--from-filter", 'name == "answer"', "--expected-from", "output")
    assert "version 1: 1 examples" in made.output, made.output
    (example,) = store.get_dataset(engine, "shop", "golden")["examples"]
    assert (example["input"], example["expected"]) == ("How do refunds work?", "Open Billing.")
