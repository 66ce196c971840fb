"""Online eval rules in Python: create (every field checked before anything is stored), change,
delete, and each rule's status: backlog, evaluated, last error, next attempt.

    from tenbin.evals import online_rules as rules
    rules.create(engine, "shop", "answers", evaluators=["json_valid", "qa_correctness"],
                 filter='kind == "LLM"', sampling_rate=0.1, max_per_minute=30)

The SDK functions in `tenbin.evals` (`create_online_rule`, …) do the same over REST.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from tenbin.errors import InvalidInput
from tenbin.evals import judge_prompts, online, registry
from tenbin.evals.tracing import EVALS_PROJECT
from tenbin.filters import compile_filter
from tenbin.store import jobs as job_store
from tenbin.store import online_rules as store
from tenbin.store.lookup import now_us
from tenbin.store.queries import iso

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
EXACT_BACKLOG = 20_000
"""Up to this many pending spans the backlog is counted exactly (hashing each id); above, estimated."""


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not NAME.match(name):
        raise InvalidInput(f"rule name {name!r} is not allowed: use 1–100 letters, digits, '-', '_' or '.', "
                           "starting with a letter or digit")
    return name


def check_rate(rate: Any) -> float:
    try:
        value = float(rate)
    except (TypeError, ValueError):
        raise InvalidInput(f"sampling_rate must be a number greater than 0 and at most 1; got {rate!r}") from None
    if not 0 < value <= 1:
        raise InvalidInput(f"sampling_rate must be greater than 0 and at most 1 (0.25 evaluates about a quarter "
                           f"of the matching spans); got {rate!r}")
    return value


def check_limit(limit: Any) -> int | None:
    if limit is None or limit == "":
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInput(f"max_per_minute must be a whole number of at least 1, or empty for no limit; got {limit!r}")
    return limit


def check_evaluators(specs: Sequence[registry.Spec], prompts: judge_prompts.Prompts) -> list[registry.Spec]:
    """Every name, parameter and judge template is checked now (no model is called, nothing stored),
    so a pass never meets a typo."""
    specs = list(specs or [])
    judge_prompts.check(registry.resolve(specs), prompts)
    return [s if isinstance(s, str) else {"name": s["name"], "params": dict(s.get("params") or {})} for s in specs]


def _checked(changes: dict[str, Any], prompts: judge_prompts.Prompts) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "filter" in changes:
        out["filter"] = (changes["filter"] or "").strip()
        compile_filter(out["filter"])
    if "sampling_rate" in changes:
        out["sampling_rate"] = check_rate(changes["sampling_rate"])
    if "evaluators" in changes:
        out["evaluators"] = check_evaluators(changes["evaluators"], prompts)
    if "max_per_minute" in changes:
        out["max_per_minute"] = check_limit(changes["max_per_minute"])
    if "enabled" in changes:
        out["enabled"] = bool(changes["enabled"])
    return out


def create(engine: Engine, project: str, name: str, *, evaluators: Sequence[registry.Spec], filter: str = "",
           sampling_rate: float = 1.0, max_per_minute: int | None = None, enabled: bool = True,
           backfill: bool = False) -> dict[str, Any]:
    """A new rule over spans that start from now on (`backfill`: also the spans already stored)."""
    if project == EVALS_PROJECT:
        raise InvalidInput(f"project {EVALS_PROJECT!r} holds the judges' own calls; an online rule there would "
                           "judge the judges: add the rule to the project whose spans you want scored")
    values = {"name": check_name(name), **_checked({"filter": filter, "sampling_rate": sampling_rate,
                                                    "evaluators": evaluators, "max_per_minute": max_per_minute,
                                                    "enabled": enabled}, judge_prompts.Local(engine, project))}
    return with_status(engine, store.create_rule(engine, project, values, backfill=backfill))


def update(engine: Engine, project: str, name: str, **changes: Any) -> dict[str, Any]:
    """Change filter, sampling_rate, evaluators, max_per_minute or enabled. Spans already decided stay
    decided: a new rate or filter applies to the spans not looked at yet."""
    unknown = set(changes) - set(store.EDITABLE)
    if unknown:
        raise InvalidInput(f"cannot change {', '.join(sorted(unknown))}; a rule's editable fields are "
                           f"{', '.join(store.EDITABLE)} (delete and re-create it to rename)")
    return with_status(engine, store.update_rule(engine, project, name,
                                                     _checked(changes, judge_prompts.Local(engine, project))))


def enable(engine: Engine, project: str, name: str, enabled: bool = True) -> dict[str, Any]:
    return update(engine, project, name, enabled=enabled)


def delete(engine: Engine, project: str, name: str) -> None:
    store.delete_rule(engine, project, name)


def get(engine: Engine, project: str, name: str) -> dict[str, Any]:
    return with_status(engine, store.get_rule(engine, project, name))


def list_rules(engine: Engine, project: str) -> list[dict[str, Any]]:
    return [with_status(engine, r) for r in store.list_rules(engine, project)]


def _backlog(engine: Engine, rule: dict[str, Any], pending: int) -> tuple[int, bool]:
    """(spans the rule will still evaluate, exact?): pending spans that its sample picks."""
    if pending > EXACT_BACKLOG:
        return round(pending * rule["sampling_rate"]), False
    ids = store.pending_ids(engine, rule, pending)
    return sum(online.sampled(i, rule["sampling_rate"]) for i in ids), True


def _state(rule: dict[str, Any], backlog: int, recent: int, now: int) -> str:
    if online.is_running(rule["id"]):
        return "running"
    if not rule["enabled"]:
        return "disabled"
    if rule["failures"]:
        return "backing_off" if (rule["next_attempt_us"] or 0) > now else "retrying"
    if backlog and rule["max_per_minute"] is not None and recent >= rule["max_per_minute"]:
        return "rate_limited"
    return "ok"


def with_status(engine: Engine, rule: dict[str, Any]) -> dict[str, Any]:
    """The rule plus what the UI and `status` show: backlog, outcome counts, state, times as ISO."""
    now = now_us()
    pending = store.count_pending(engine, rule)
    backlog, exact = _backlog(engine, rule, pending)
    recent = store.evaluated_since(engine, rule["id"], now - online.MINUTE_US)
    job = job_store.get_checkpoint(engine, rule["project_id"], store.job_name(rule["name"]))
    out = {k: v for k, v in rule.items() if k != "project_id"}
    out.update(store.outcome_counts(engine, rule["id"]))
    out.update(pending=pending, backlog=backlog, backlog_exact=exact, evaluated_last_minute=recent,
               state=_state(rule, backlog, recent, now), job_status=job["status"] if job else None)
    for key in ("since", "created", "updated", "last_attempt", "next_attempt", "last_success"):
        out[key] = iso(rule[f"{key}_us"])
    return out
