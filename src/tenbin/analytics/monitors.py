"""Monitors: periodic checks per project, prompt version or cluster that raise alerts.

    create(engine, "shop", {"name": "bad answers", "kind": "thumbs_down_rate", "threshold": 0.3,
                            "window_s": 3600, "min_samples": 20, "webhook_url": "https://hooks.example/x"})
    check(engine, monitor_id)          # one check now: evaluation stored, alert + webhook if it fires
    run_monitors(engine)               # every due monitor: what the server's scheduler runs

What each kind computes, and what the threshold means, is in `monitor_checks`. Every check stores
an evaluation (value, reference, threshold, window, n), so the history is visible.

**Alerts fire once per transition**: an alert is raised when a check fires while the monitor's
state is `ok` (a new monitor starts `ok`); while it keeps firing no new alert is raised; the first
`ok` check resolves the open alert and re-arms the monitor. Checks without enough samples or data
change nothing. An alert is POSTed to the monitor's `webhook_url`, else to the project's (see
`set_project_webhook`), else to TENBIN_ALERT_WEBHOOK_URL when set (see `webhooks`); the delivery's outcome is stored on the alert and a failure never fails
the check.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine

from tenbin import config
from tenbin.analytics import monitor_checks as checks
from tenbin.analytics import webhooks
from tenbin.errors import InvalidInput, NotFound, TenbinError
from tenbin.filters import compile_filter
from tenbin.store import analyses, metrics
from tenbin.store import monitors as store
from tenbin.store.lookup import now_us
from tenbin.store.queries import iso

log = logging.getLogger("tenbin.monitors")
DEFAULTS: dict[str, Any] = {"comparison": "absolute", "window_s": 3600, "min_samples": 20, "filter": "",
                            "prompt": None, "cluster": None, "analysis_id": None, "group_by": None, "evaluator": None,
                            "label": None, "webhook_url": None,
                            "interval_s": 300, "enabled": True}
INPUT_FIELDS = ("name", "kind", "threshold", *DEFAULTS)
_DURATION = re.compile(r"(\d+)\s*(s|m|h|d)?\Z")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_PROMPT = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]{0,199}?)(?:@(?P<version>\d+))?\Z")
_THRESHOLDS = {  # (kind, comparison) -> (low, high, what a valid threshold looks like), both bounds exclusive
    ("thumbs_down_rate", "absolute"): (0.0, 1.0, "a rate between 0 and 1, e.g. 0.3"),
    ("thumbs_down_rate", "relative"): (0.0, 1.0, "a rise in rate between 0 and 1, e.g. 0.15"),
    ("eval_rate", "absolute"): (0.0, 1.0, "a share of results between 0 and 1, e.g. 0.2"),
    ("eval_rate", "relative"): (0.0, 1.0, "a rise in share between 0 and 1, e.g. 0.1"),
    ("latency_p95", "absolute"): (0.0, math.inf, "milliseconds above 0, e.g. 2000"),
    ("latency_p95", "relative"): (1.0, math.inf, "a ratio above 1, e.g. 1.5"),
    ("drift", "absolute"): (0.0, math.inf, "a drift value above 0, e.g. 3 (a cluster 3x more common than in the baseline)"),
    ("drift", "relative"): (0.0, math.inf, "a drift value above 0, e.g. 3"),
}


def duration_s(value: str | None, name: str) -> int | None:
    """`90`, `30m`, `1h`, `7d` → seconds, for CLI options and form fields (empty: None)."""
    if value is None or not value.strip():
        return None
    found = _DURATION.match(value.strip())
    if not found:
        raise InvalidInput(f"{name} {value!r} must be seconds or a duration like 30m, 1h, 7d")
    return int(found[1]) * _UNIT_S[found[2]]


def human_s(seconds: int) -> str:
    """3600 → "1h", 1800 → "30m", 90 → "90s": how windows and intervals are shown."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _number(data: Mapping[str, Any], key: str, kind: type, low: float, high: float) -> Any:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and value != int(value)):
        raise InvalidInput(f"{key} must be a {'whole number' if kind is int else 'number'}; got {value!r}")
    if not (low <= value <= high):
        raise InvalidInput(f"{key} must be between {low:g} and {high:g}; got {value!r}")
    return kind(value)


def _choice(value: Any, key: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InvalidInput(f"unknown {key} {value!r}; choose one of: {', '.join(choices)}")
    return str(value)


def _threshold(data: Mapping[str, Any], kind: str, comparison: str) -> float:
    low, high, hint = _THRESHOLDS[(kind, comparison)]
    value = data.get("threshold")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not (low < value < high):
        raise InvalidInput(f"threshold {value!r} does not fit a {comparison} {kind} monitor; give {hint}")
    return float(value)


def _prompt(value: Any) -> tuple[str | None, int | None]:
    if value in (None, ""):
        return None, None
    found = _PROMPT.match(value) if isinstance(value, str) else None
    if found is None:
        raise InvalidInput(f"prompt {value!r} must be NAME or NAME@VERSION, e.g. support-answer@3")
    version = found["version"]
    if version is not None and int(version) < 1:
        raise InvalidInput(f"prompt version in {value!r} must be 1 or more")
    return found["name"], None if version is None else int(version)


def _cluster(engine: Engine, project: str, data: Mapping[str, Any]) -> tuple[str | None, int | None]:
    """(`cluster`, `analysis_id`): a numbered cluster is pinned to its analysis (the newest finished
    one unless given), since cluster numbers mean nothing across runs; `each` follows the newest."""
    cluster, analysis_id = data.get("cluster"), data.get("analysis_id")
    if analysis_id is not None:
        analysis_id = _number(data, "analysis_id", int, 1, 2**31)
        analyses.get_analysis(engine, analysis_id, project)
    if cluster is None or cluster == checks.EACH:
        return cluster, analysis_id
    if isinstance(cluster, str) and cluster.lstrip("-").isdigit():
        cluster = int(cluster)
    if isinstance(cluster, bool) or not isinstance(cluster, int) or cluster < 0:
        raise InvalidInput(f"cluster must be a cluster number (0 or more) or {checks.EACH!r}; got {cluster!r}")
    if analysis_id is None:
        done = [a for a in analyses.list_analyses(engine, project) if a["status"] == "done"]
        if not done:
            raise NotFound(f"project {project!r} has no finished analysis to take cluster {cluster} from; "
                           "run `tenbin analyze` first")
        analysis_id = done[0]["id"]
    known = [c["cluster"] for c in analyses.clusters(engine, analysis_id) if c["cluster"] != analyses.NOISE]
    if cluster not in known:
        raise NotFound(f"analysis {analysis_id} has no cluster {cluster}; its clusters are: "
                       f"{', '.join(map(str, known)) or 'none'}")
    return str(cluster), analysis_id


def _group_by(value: Any, kind: str, cluster: str | None) -> str | None:
    """`metadata.<key>` or a span column (`metrics.GROUP_COLUMNS`), for time-window monitors only."""
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise InvalidInput(f"group_by must be metadata.<key> or a column name, e.g. metadata.task; got {value!r}")
    if kind not in checks.WINDOW_KINDS or cluster is not None:
        raise InvalidInput("group_by checks each segment of a thumbs_down_rate, latency_p95 or eval_rate time-window "
                           "monitor; drop it, or drop the cluster (clusters are segments already)")
    metrics.group_expression(value.strip())
    return value.strip()


def _eval_params(data: Mapping[str, Any], kind: str, cluster: str | None) -> tuple[str | None, str | None]:
    """(`evaluator`, `label`): what an eval_rate monitor counts; other kinds take neither."""
    evaluator, label = data["evaluator"], data["label"]
    if kind != "eval_rate":
        if evaluator or label:
            raise InvalidInput(f"evaluator and label are the parameters of an eval_rate monitor; "
                               f"drop them for a {kind} monitor")
        return None, None
    if cluster is not None:
        raise InvalidInput("an eval_rate monitor checks time windows of spans, not clusters; drop the cluster")
    for key, value, example in (("evaluator", evaluator, "qa_correctness"), ("label", label, "incorrect")):
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            raise InvalidInput(f"an eval_rate monitor needs {key} (1 to 200 characters), e.g. {example}; got {value!r}")
    return evaluator.strip(), label.strip()


def validate(engine: Engine, project: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The stored fields of a monitor from user input (REST body, CLI options, UI form); every
    problem is an InvalidInput (or NotFound for an unknown analysis or cluster) naming the field."""
    unknown = sorted(set(data) - set(INPUT_FIELDS))
    if unknown:
        raise InvalidInput(f"unknown field(s) {unknown}; a monitor has: {', '.join(INPUT_FIELDS)}")
    data = {**DEFAULTS, **{k: v for k, v in data.items() if v is not None or DEFAULTS.get(k, 0) is None}}
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InvalidInput("name the monitor (1 to 200 characters), e.g. \"billing thumbs-down\"")
    kind = _choice(data.get("kind"), "kind", checks.KINDS)
    comparison = _choice(data["comparison"], "comparison", checks.COMPARISONS)
    if not isinstance(data["filter"], str):
        raise InvalidInput("filter must be a filter expression, e.g. kind == \"LLM\"")
    compile_filter(data["filter"])
    prompt_name, prompt_version = _prompt(data["prompt"])
    if data["analysis_id"] is not None and data["cluster"] is None and kind != "drift":
        raise InvalidInput("analysis_id pins a cluster or drift monitor to one analysis; give a cluster too, "
                           "or drop analysis_id to check time windows")
    cluster, analysis_id = _cluster(engine, project, data)
    if (cluster is not None or kind == "drift") and (data["filter"].strip() or prompt_name):
        raise InvalidInput("filter and prompt narrow time-window checks; a drift or cluster monitor reads an "
                           "analysis, which has its own filter: drop them, or drop the cluster")
    evaluator, label = _eval_params(data, kind, cluster)
    if not isinstance(data["enabled"], bool):
        raise InvalidInput(f"enabled must be true or false; got {data['enabled']!r}")
    return {"name": name.strip(), "kind": kind, "comparison": comparison, "threshold": _threshold(data, kind, comparison),
            "window_s": _number(data, "window_s", int, 60, 90 * 86400),
            "min_samples": _number(data, "min_samples", int, 1, 1_000_000),
            "interval_s": _number(data, "interval_s", int, 10, 86400), "filter": data["filter"].strip(),
            "prompt_name": prompt_name, "prompt_version": prompt_version, "cluster": cluster, "analysis_id": analysis_id,
            "group_by": _group_by(data["group_by"], kind, cluster), "evaluator": evaluator, "label": label,
            "webhook_url": None if not data["webhook_url"] else webhooks.check_url(data["webhook_url"]),
            "enabled": data["enabled"]}


def create(engine: Engine, project: str, data: Mapping[str, Any]) -> dict[str, Any]:
    return store.create_monitor(engine, project, validate(engine, project, data))


def editable(monitor: Mapping[str, Any]) -> dict[str, Any]:
    """A stored monitor as the input that would create it (for edits: merge changes, validate again)."""
    return {k: monitor[k] for k in INPUT_FIELDS if k in monitor}


def update(engine: Engine, monitor_id: int, changes: Mapping[str, Any], project: str | None = None) -> dict[str, Any]:
    """Change some fields; the whole monitor is validated again, so no edit leaves it inconsistent."""
    current = store.get_monitor(engine, monitor_id, project)
    fields = validate(engine, current["project"], {**editable(current), **changes})
    return store.update_monitor(engine, monitor_id, fields)


def webhook_for(engine: Engine, monitor: Mapping[str, Any]) -> str | None:
    """Where an alert goes: the monitor's URL, else the project's, else TENBIN_ALERT_WEBHOOK_URL."""
    return (monitor.get("webhook_url") or store.project_webhook(engine, monitor["project"])
            or config.ALERT_WEBHOOK_URL.get() or None)


def set_project_webhook(engine: Engine, project: str, url: str | None) -> str | None:
    """The project's default webhook for monitors without their own (None or "" clears it)."""
    return store.set_project_webhook(engine, project, webhooks.check_url(url) if url else None)


def alert_payload(monitor: Mapping[str, Any], evaluation: Mapping[str, Any], alert_id: int) -> dict[str, Any]:
    """The JSON POSTed for an alert (documented in the README, "Monitors and alerts")."""
    details = evaluation.get("details") or {}
    cluster = analysis = None
    if evaluation.get("analysis_id") is not None:
        analysis = {"id": evaluation["analysis_id"], "production": details.get("production"),
                    "baseline": details.get("baseline")}
    if evaluation.get("cluster") is not None:
        cluster = {"analysis_id": evaluation.get("analysis_id"), "cluster": evaluation["cluster"],
                   "label": details.get("label"), "size": details.get("size"), "report": evaluation.get("report")}
    return {
        "type": "tenbin.alert", "alert_id": alert_id, "project": monitor["project"],
        "text": f"[tenbin] {monitor['project']} / {monitor['name']}: {evaluation['message']}",
        "monitor": {k: monitor[k] for k in ("id", "name", "kind", "comparison", "threshold", "window_s", "filter",
                                              "prompt", "cluster", "group_by", "evaluator", "label")},
        "message": evaluation["message"], "value": evaluation.get("value"), "reference": evaluation.get("reference"),
        "threshold": evaluation.get("threshold"), "n": evaluation.get("n"), "reference_n": evaluation.get("reference_n"),
        "window": {"start": iso(evaluation.get("window_start_us")), "end": iso(evaluation.get("window_end_us"))},
        "analysis": analysis, "cluster": cluster, "created": iso(evaluation.get("checked_us")),
        "groups": details.get("groups") if "group_by" in details else None,
    }


def check(engine: Engine, monitor_id: int, *, at_us: int | None = None, project: str | None = None,
          policy: webhooks.Policy = webhooks.DEFAULT_POLICY) -> dict[str, Any]:
    """Check one monitor now (or as of `at_us`): store the evaluation, raise an alert on a transition
    to firing, POST it to the webhook. Returns the evaluation with `alert_id`, `state`, `delivery`."""
    monitor = store.get_monitor(engine, monitor_id, project)
    at = now_us() if at_us is None else at_us
    try:
        evaluation = checks.evaluate(engine, monitor, at)
    except TenbinError as exc:
        evaluation = {"status": "error", "threshold": monitor["threshold"], "n": 0, "message": str(exc)}
    url = webhook_for(engine, monitor)
    result = store.record_evaluation(engine, monitor_id, evaluation, {"report": evaluation.get("report"),
                                                                      "webhook_url": url}, at)
    result["delivery"] = None
    if result["alert_id"] is not None and url:
        body = alert_payload(monitor, {**evaluation, **result}, result["alert_id"])
        delivery = webhooks.deliver(url, body, policy)
        store.set_delivery(engine, result["alert_id"], delivery.status, delivery.attempts, delivery.error)
        result["delivery"] = {"status": delivery.status, "attempts": delivery.attempts, "error": delivery.error}
    return result


def run_monitors(engine: Engine, *, at_us: int | None = None, stop: threading.Event | None = None) -> list[dict[str, Any]]:
    """Check every enabled monitor whose interval has passed: the pass the server's scheduler runs.
    One monitor's failure is logged and does not stop the others; `stop` (the scheduler's) ends the
    pass between monitors, since a dead webhook can hold each one for its retries."""
    at = now_us() if at_us is None else at_us
    done = []
    for monitor in store.list_monitors(engine, due_at_us=at):
        if stop is not None and stop.is_set():
            break
        try:
            done.append(check(engine, monitor["id"], at_us=at))
        except Exception:
            log.exception("tenbin: monitor %s (%s) could not be checked", monitor["id"], monitor["name"])
    return done


list_monitors = store.list_monitors
get_monitor = store.get_monitor
delete = store.delete_monitor
evaluations = store.evaluations
list_alerts = store.list_alerts
acknowledge = store.acknowledge
project_webhook = store.project_webhook
