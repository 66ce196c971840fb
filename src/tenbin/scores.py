"""Score configs: one named annotation dimension a reviewer fills, and how an answer becomes feedback.

    categorical   one of the allowed labels    → feedback kind `label` (label = the answer)
    numeric       a number within [min, max]   → feedback kind `score` (value = the answer)
    boolean       yes or no                    → feedback kind `thumbs` (value 1 = yes, 0 = no)

Answers are stored as ordinary feedback rows named after the config (source `human`, author the
reviewer), so the trace page, the overview's eval metrics, thumbs-up rates, cluster metrics and the
filter language (`feedback["quality"] == "correct"`) see them without knowing about queues. A
boolean config is a thumbs judgement: name it so that "yes" is the good answer (`helpful`, not
`hallucinated`), as thumbs-up rates count it.

Validation only (no SQL, nothing of ours but `errors`): the store checks answers with it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from tenbin.errors import InvalidInput

TYPES = ("categorical", "numeric", "boolean")
MAX_NAME = 200
MAX_LABELS = 50
YES, NO = ("true", "yes", "1", "up"), ("false", "no", "0", "down")


def _name(name: Any) -> str:
    text = name.strip() if isinstance(name, str) else ""
    if not text or len(text) > MAX_NAME:
        raise InvalidInput(f"a score config needs a name of 1 to {MAX_NAME} characters; got {name!r}")
    return text


def _labels(labels: Sequence[Any] | None) -> list[str]:
    cleaned = [str(label).strip() for label in labels or []]
    if len(cleaned) < 2 or len(cleaned) > MAX_LABELS:
        raise InvalidInput(f"a categorical score config needs 2 to {MAX_LABELS} labels, e.g. correct, incorrect, "
                           f"partially; got {len(cleaned)}")
    bad = [label for label in cleaned if not label or len(label) > MAX_NAME]
    if bad:
        raise InvalidInput(f"each label needs 1 to {MAX_NAME} characters; got {bad[0]!r}")
    repeated = sorted({label for label in cleaned if cleaned.count(label) > 1})
    if repeated:
        raise InvalidInput(f"labels must differ; {', '.join(repeated)} given more than once")
    return cleaned


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or value is None or value == "":
        raise InvalidInput(f"{what} must be a number; got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{what} must be a number; got {value!r}") from None
    if not math.isfinite(number):
        raise InvalidInput(f"{what} must be a finite number; got {value!r}")
    return number


def check_config(name: Any, type: Any, *, labels: Sequence[Any] | None = None, min_value: Any = None,
                 max_value: Any = None, description: str = "") -> dict[str, Any]:
    """The config's stored fields, or InvalidInput naming what to fix; fields other types do not use are refused."""
    if type not in TYPES:
        raise InvalidInput(f"score config type must be one of {', '.join(TYPES)}; got {type!r}")
    row: dict[str, Any] = {"name": _name(name), "type": type, "labels": None, "min_value": None, "max_value": None,
                           "description": (description or "").strip()}
    if type != "categorical" and labels:
        raise InvalidInput(f"only categorical configs take labels; a {type} config takes none")
    if type != "numeric" and (min_value not in (None, "") or max_value not in (None, "")):
        raise InvalidInput(f"only numeric configs take min_value and max_value; a {type} config takes neither")
    if type == "categorical":
        row["labels"] = _labels(labels)
    if type == "numeric":
        low, high = _number(min_value, "min_value"), _number(max_value, "max_value")
        if low >= high:
            raise InvalidInput(f"min_value must be below max_value; got {low:g} and {high:g}")
        row.update(min_value=low, max_value=high)
    return row


def _boolean(value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    text = str(value).strip().lower()
    if text in YES or text in NO:
        return 1.0 if text in YES else 0.0
    raise InvalidInput(f"answer true or false (yes or no); got {value!r}")


def answer_feedback(config: dict[str, Any], value: Any) -> dict[str, Any]:
    """The feedback fields (name, kind, value, label) of one answer, or InvalidInput naming the config."""
    name, kind = config["name"], config["type"]
    if kind == "categorical":
        if not isinstance(value, str) or value not in config["labels"]:
            raise InvalidInput(f"{name!r} takes one of the labels {', '.join(config['labels'])}; got {value!r}")
        return {"name": name, "kind": "label", "value": None, "label": value}
    if kind == "numeric":
        number = _number(value, repr(name))
        if not config["min_value"] <= number <= config["max_value"]:
            raise InvalidInput(f"{name!r} takes a number from {config['min_value']:g} to {config['max_value']:g}; "
                               f"got {number:g}")
        return {"name": name, "kind": "score", "value": number, "label": None}
    try:
        return {"name": name, "kind": "thumbs", "value": _boolean(value), "label": None}
    except InvalidInput as exc:
        raise InvalidInput(f"{name!r}: {exc}") from None


def answers_feedback(configs: Sequence[dict[str, Any]], answers: dict[str, Any]) -> list[dict[str, Any]]:
    """Every answer as feedback fields: each names one of `configs`, at least one is given, all are valid."""
    by_name = {c["name"]: c for c in configs}
    given = {k: v for k, v in answers.items() if v is not None and v != ""}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        raise InvalidInput(f"this queue does not score {', '.join(map(repr, unknown))}; "
                           f"it scores {', '.join(by_name) or 'nothing'}")
    if not given:
        raise InvalidInput(f"answer at least one of {', '.join(by_name)}, or skip the item")
    return [answer_feedback(by_name[name], value) for name, value in given.items()]
