"""Rails: hold a judge's answer to its allowed labels, tolerantly.

Small models answer `"Factual."`, `{"Label": " HALLUCINATED "}`, `{"verdict": "yes"}` or plain prose
around a label. `Rails.parse` accepts all of these when they name exactly one allowed label (after
case/whitespace/punctuation folding and synonyms) and raises ValueError otherwise, which the judge
turns into a retry with the complaint shown to the model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tenbin.llm import parse_json

_LABEL_KEYS = ("label", "verdict", "answer", "classification", "result", "judgement", "judgment")
_EXPLANATION_KEYS = ("explanation", "reason", "reasoning", "rationale", "why")


def fold(text: str) -> str:
    """'  Not-Toxic. ' → 'not_toxic': the form labels and synonyms are compared in."""
    return re.sub(r"[\s\-]+", "_", re.sub(r"[^\w\s\-]", "", str(text)).strip().lower()).strip("_")


@dataclass(frozen=True)
class Rails:
    """Allowed labels (first = the "good" one, score 1.0) and synonyms folded onto them."""

    labels: tuple[str, ...]
    synonyms: Mapping[str, str] = field(default_factory=dict)

    def snap(self, text: str) -> str | None:
        """The allowed label `text` names, or None."""
        key = fold(text)
        for label in self.labels:
            if key == fold(label):
                return label
        target = {fold(k): v for k, v in self.synonyms.items()}.get(key)
        return target if target in self.labels else None

    def score(self, label: str) -> float | None:
        """1.0 for the first label, 0.0 for the last, evenly spaced between; None for other labels."""
        if label not in self.labels:
            return None
        return 1.0 if len(self.labels) == 1 else 1.0 - self.labels.index(label) / (len(self.labels) - 1)

    def parse(self, text: str) -> tuple[str, str | None]:
        """(label, explanation) from a reply; ValueError naming the allowed labels if there is none."""
        try:
            value: Any = parse_json(text)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return self._from_object(value)
        if isinstance(value, str):
            found = self.snap(value)
            if found:
                return found, None
        return self._from_prose(text), None

    def _from_object(self, value: dict[str, Any]) -> tuple[str, str | None]:
        lowered = {fold(k): v for k, v in value.items()}
        raw = next((lowered[k] for k in _LABEL_KEYS if k in lowered), None)
        if raw is None:
            raise ValueError(f'the JSON has no "label" key; answer like {self.example()}')
        found = self.snap(str(raw))
        if found is None:
            raise ValueError(f"label {raw!r} is not allowed; use one of: {', '.join(self.labels)}")
        explanation = next((lowered[k] for k in _EXPLANATION_KEYS if k in lowered), None)
        return found, (str(explanation).strip() or None) if explanation is not None else None

    def _from_prose(self, text: str) -> str:
        """A reply that is not JSON counts only if it names exactly one allowed label (a longer name
        wins over one inside it: "not toxic" is not also "toxic")."""
        words = re.findall(r"[a-z0-9]+", str(text).lower())
        names = {fold(label): label for label in self.labels}
        names.update({fold(k): v for k, v in self.synonyms.items() if v in self.labels})
        spans = [(i, i + len(key.split("_")), label) for key, label in names.items()
                 for i in range(len(words)) if words[i:i + len(key.split("_"))] == key.split("_")]
        hits = {label for s, e, label in spans if not any(s2 <= s and e <= e2 and e2 - s2 > e - s for s2, e2, _ in spans)}
        if len(hits) == 1:
            return hits.pop()
        raise ValueError(f"the reply does not name exactly one allowed label; answer like {self.example()}")

    def schema(self) -> dict[str, Any]:
        """The reply's JSON schema, label first: sent to the server, it makes even a tiny model pick
        an allowed label instead of echoing the template's wording (see TENBIN_LLM_SCHEMA_STYLE)."""
        return {"type": "object", "required": ["label", "explanation"],
                "properties": {"label": {"enum": list(self.labels)}, "explanation": {"type": "string"}}}

    def example(self) -> str:
        return '{"label": "%s", "explanation": "<one sentence>"}' % "|".join(self.labels)
