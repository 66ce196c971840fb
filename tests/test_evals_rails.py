"""Rails: tolerant parsing of a judge's reply onto its allowed labels."""

from __future__ import annotations

import pytest

from tenbin.evals.judges import SPECS

HALLUCINATION = SPECS["hallucination"].rails
TOXICITY = SPECS["toxicity"].rails


@pytest.mark.parametrize(("reply", "label", "explanation"), [
    ('{"label": "factual", "explanation": "all in doc 1"}', "factual", "all in doc 1"),
    ('{"Label": "  HALLUCINATED ", "Reason": "adds a date"}', "hallucinated", "adds a date"),
    ('Sure! ```json\n{"verdict": "Factual."}\n```', "factual", None),
    ('{"answer": "unsupported"}', "hallucinated", None),
    ('"grounded"', "factual", None),
    ("The answer is hallucinated because it invents a price.", "hallucinated", None),
    ('{"label": "factual", "explanation": ""}', "factual", None),
])
def test_replies_snap_onto_allowed_labels(reply: str, label: str, explanation: str | None) -> None:
    assert HALLUCINATION.parse(reply) == (label, explanation)


@pytest.mark.parametrize(("reply", "problem"), [
    ('{"label": "maybe"}', "label 'maybe' is not allowed; use one of: factual, hallucinated"),
    ('{"explanation": "hmm"}', 'the JSON has no "label" key'),
    ("It could be factual or hallucinated.", "does not name exactly one allowed label"),
    ("I cannot tell.", "does not name exactly one allowed label"),
])
def test_replies_off_the_rails_are_rejected_with_the_reason(reply: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        HALLUCINATION.parse(reply)


def test_a_longer_label_in_prose_wins_over_the_label_inside_it() -> None:
    assert TOXICITY.parse("This reply is not toxic at all.") == ("non_toxic", None)
    assert TOXICITY.parse("Clearly toxic.") == ("toxic", None)


def test_first_label_scores_one_and_last_zero() -> None:
    assert (HALLUCINATION.score("factual"), HALLUCINATION.score("hallucinated"), HALLUCINATION.score("x")) == (1.0, 0.0, None)
