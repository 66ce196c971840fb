"""The two sides of an analysis, as users write them: a production window and a baseline.

Windows
- `""` or `all`: every span.
- a duration `30m`, `24h`, `7d`, `2w`: the last stretch of that length, ending at the project's
  newest span (≈ now for a live project; for an imported or demo project, its last traffic).
- `START..END`: ISO-8601 times (naive means UTC) or epoch seconds; either end may be left open.

Baselines
- `previous`: the window of the same length just before the production window.
- a duration (`7d`): that long, ending where the production window starts.
- `START..END` or `window:<any window>`: an explicit window.
- `dataset:NAME` or `dataset:NAME@VERSION`: the source spans of a dataset's examples.
- `prompt:NAME@VERSION`: the spans made with one prompt version (any time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from tenbin.errors import InvalidInput

_DURATION = re.compile(r"^(\d+)\s*(m|h|d|w)$")
_UNIT_US = {"m": 60_000_000, "h": 3_600_000_000, "d": 86_400_000_000, "w": 7 * 86_400_000_000}
BASELINE_HELP = "previous, a duration like 7d, START..END, dataset:NAME[@V] or prompt:NAME@V"


@dataclass(frozen=True)
class Side:
    """Which spans one side holds: a time range, a dataset's source spans, or one prompt version."""

    start_us: int | None = None
    end_us: int | None = None
    dataset: tuple[str, int | None] | None = None
    prompt: tuple[str, str] | None = None

    def describe(self) -> str:
        if self.dataset:
            return f"dataset {self.dataset[0]}" + (f" v{self.dataset[1]}" if self.dataset[1] else "")
        if self.prompt:
            return f"prompt {self.prompt[0]}@{self.prompt[1]}"
        return f"{_iso(self.start_us) or 'start'} .. {_iso(self.end_us) or 'now'}"


def _iso(us: int | None) -> str | None:
    if us is None:
        return None
    return datetime.fromtimestamp(us / 1e6, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def duration_us(text: str) -> int | None:
    found = _DURATION.match(text.strip())
    return int(found.group(1)) * _UNIT_US[found.group(2)] if found else None


def _moment(text: str, what: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        return int(float(text) * 1_000_000)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"{what}: {text!r} is not an ISO-8601 time or epoch seconds") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


def parse_window(spec: str, newest_us: int | None, what: str = "window") -> Side:
    """The production window (see the module docstring); `newest_us` anchors durations."""
    spec = (spec or "").strip()
    if spec in ("", "all"):
        return Side()
    if (length := duration_us(spec)) is not None:
        end = (newest_us or 0) + 1
        return Side(end - length, end)
    if ".." in spec:
        start, end = (_moment(part, what) for part in spec.split("..", 1))
        if start is not None and end is not None and start >= end:
            raise InvalidInput(f"{what} {spec!r} ends before it starts")
        return Side(start, end)
    raise InvalidInput(f"{what} {spec!r} is not understood; write all, a duration like 24h, or START..END")


def parse_baseline(spec: str, production: Side, newest_us: int | None) -> Side:
    """The baseline side (see the module docstring), relative to the production window."""
    spec = (spec or "").strip()
    if not spec:
        raise InvalidInput(f"a baseline is required: {BASELINE_HELP}")
    if spec.startswith("dataset:"):
        name, _, version = spec[len("dataset:"):].partition("@")
        if not name or (version and not version.isdigit()):
            raise InvalidInput(f"baseline {spec!r}: write dataset:NAME or dataset:NAME@VERSION (a number)")
        return Side(dataset=(name, int(version) if version else None))
    if spec.startswith("prompt:"):
        name, _, version = spec[len("prompt:"):].partition("@")
        if not name or not version:
            raise InvalidInput(f"baseline {spec!r}: write prompt:NAME@VERSION, e.g. prompt:support@3")
        return Side(prompt=(name, version))
    if spec == "previous" or duration_us(spec) is not None:
        if production.start_us is None:
            raise InvalidInput(f"baseline {spec!r} is relative to the production window's start, but the window is "
                               "open-ended; give --window (e.g. 24h or START..END)")
        length = (production.end_us or (newest_us or 0) + 1) - production.start_us
        length = duration_us(spec) or length
        return Side(production.start_us - length, production.start_us)
    return parse_window(spec.removeprefix("window:"), newest_us, "baseline")
