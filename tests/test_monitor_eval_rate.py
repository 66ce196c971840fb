"""`eval_rate` monitors on SQLite and PostgreSQL: the share of an evaluator's results with a label
fires over its threshold and stays quiet below it, per window, per group and relative to the
previous window; created over REST (and checked there) and from the CLI; bad specs refused."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from tenbin.analytics import monitors
from tenbin.cli import app
from tenbin.errors import InvalidInput
from tenbin.store.lookup import now_us
from tests.conftest import RunningServer
from tests.monitor_helpers import HOUR_US, T0, judged_spans, rated_spans

NOW = T0 + 2 * HOUR_US
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
SPEC = {"name": "wrong answers", "kind": "eval_rate", "evaluator": "qa_correctness", "label": "incorrect",
        "threshold": 0.3, "min_samples": 10}


def test_fires_when_the_labels_share_of_the_evaluators_results_passes_the_threshold(engine: Engine) -> None:
    judged_spans(engine, T0 + HOUR_US, {"correct": 12, "incorrect": 8})
    judged_spans(engine, T0 + HOUR_US, {"incorrect": 30}, evaluator="hallucination")
    rated_spans(engine, T0 + HOUR_US, ups=0, downs=10)
    monitor = monitors.create(engine, "p", {**SPEC, "evaluator": " qa_correctness", "label": "incorrect "})
    assert (monitor["evaluator"], monitor["label"]) == ("qa_correctness", "incorrect")
    result = monitors.check(engine, monitor["id"], at_us=NOW)
    assert (result["status"], result["value"], result["n"]) == ("firing", 0.4, 20), result
    assert result["message"] == 'qa_correctness "incorrect" rate 40% (n=20) is above 30%'
    [alert] = monitors.list_alerts(engine, "p")
    assert alert["kind"] == "eval_rate" and alert["value"] == 0.4


def test_stays_quiet_below_the_threshold_and_outside_the_window(engine: Engine) -> None:
    judged_spans(engine, T0 + HOUR_US, {"correct": 18, "incorrect": 2, "unparseable": 5})
    judged_spans(engine, T0, {"incorrect": 20})
    monitor = monitors.create(engine, "p", SPEC)
    result = monitors.check(engine, monitor["id"], at_us=NOW)
    assert (result["status"], result["value"], result["n"]) == ("ok", 0.08, 25), result
    assert monitors.list_alerts(engine, "p") == []


@SQLITE_ONLY
def test_too_few_results_never_fire(engine: Engine) -> None:
    judged_spans(engine, T0 + HOUR_US, {"incorrect": 5})
    result = monitors.check(engine, monitors.create(engine, "p", SPEC)["id"], at_us=NOW)
    assert result["status"] == "insufficient_data" and "5 samples, the monitor needs 10" in result["message"]


def test_relative_compares_with_the_previous_window(engine: Engine) -> None:
    judged_spans(engine, T0, {"correct": 18, "incorrect": 2})
    judged_spans(engine, T0 + HOUR_US, {"correct": 10, "incorrect": 10})
    monitor = monitors.create(engine, "p", {**SPEC, "comparison": "relative", "threshold": 0.2})
    result = monitors.check(engine, monitor["id"], at_us=NOW)
    assert result["status"] == "firing" and result["reference"] == 0.1 and result["reference_n"] == 20, result
    assert "vs 10% in the previous window (n=20): +40%, threshold +20%" in result["message"]


def test_group_by_names_the_segment_whose_share_is_over(engine: Engine) -> None:
    judged_spans(engine, T0 + HOUR_US, {"correct": 2, "incorrect": 8}, metadata={"task": "billing"})
    judged_spans(engine, T0 + HOUR_US, {"correct": 10}, metadata={"task": "setup"})
    monitor = monitors.create(engine, "p", {**SPEC, "group_by": "metadata.task"})
    result = monitors.check(engine, monitor["id"], at_us=NOW)
    assert result["status"] == "firing" and result["details"]["firing"] == ["billing"], result
    groups = {g["group"]: (g["status"], g["value"]) for g in result["details"]["groups"]}
    assert groups == {"billing": ("firing", 0.8), "setup": ("ok", 0.0)}


@SQLITE_ONLY
@pytest.mark.parametrize(("change", "message"), [
    ({"evaluator": None}, "an eval_rate monitor needs evaluator (1 to 200 characters), e.g. qa_correctness"),
    ({"label": " "}, "an eval_rate monitor needs label"),
    ({"threshold": 1.5}, "does not fit a absolute eval_rate monitor; give a share of results between 0 and 1"),
    ({"cluster": "each"}, "an eval_rate monitor checks time windows of spans, not clusters"),
    ({"kind": "thumbs_down_rate"}, "evaluator and label are the parameters of an eval_rate monitor"),
])
def test_bad_specs_are_refused_naming_the_field(engine: Engine, change: dict[str, object], message: str) -> None:
    judged_spans(engine, T0, {"correct": 1})
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        monitors.create(engine, "p", {**SPEC, **change})


@SQLITE_ONLY
def test_created_over_rest_and_from_the_cli(engine: Engine, server: RunningServer) -> None:
    judged_spans(engine, now_us() - HOUR_US // 2, {"correct": 5, "incorrect": 15})
    with httpx.Client(base_url=f"{server.url}/api/v1") as http:
        made = http.post("/projects/p/monitors", json=SPEC)
        assert made.status_code == 201 and (made.json()["evaluator"], made.json()["label"]) == ("qa_correctness",
                                                                                                "incorrect")
        assert http.post(f"/monitors/{made.json()['id']}/check").json()["status"] == "firing"
        bad = http.post("/projects/p/monitors", json={**SPEC, "name": "other", "label": None})
        assert bad.status_code == 400 and "needs label" in bad.json()["detail"]
    added = CliRunner().invoke(app, ["monitors", "add", "wrong billing", "--kind", "eval_rate", "--evaluator",
                                     "qa_correctness", "--label", "incorrect", "--threshold", "0.2", "--min-samples",
                                     "10", "-p", "p", "--endpoint", server.url], terminal_width=250)
    assert added.exit_code == 0, added.output
    assert "monitor 2 'wrong billing': eval_rate of qa_correctness 'incorrect' absolute > 0.2" in added.output
    checked = CliRunner().invoke(app, ["monitors", "check", "2", "--endpoint", server.url], terminal_width=250)
    assert 'firing: qa_correctness "incorrect" rate 75% (n=20) is above 20%' in checked.output, checked.output
