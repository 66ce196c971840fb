"""One judge on the real local model (SmolLM2-135M under llama.cpp): the verdict stays on the rails.

The model is small, so the test does not ask it to be right (calibration measures that); it checks
that a real model's reply goes through template, JSON mode, rails and retries to an allowed label
or `unparseable` with the raw text, and that usage is counted.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

import tenbin.evals as ev
from tenbin.evals.base import UNPARSEABLE, EvalInput
from tenbin.llm import LLM

pytestmark = pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="needs tenbin[local]")


@pytest.fixture(scope="module")
def local_llm() -> Iterator[LLM]:
    from tenbin.llm.local import LocalModelServer

    with LocalModelServer() as server:
        yield LLM(server.base_url, server.model)


def test_real_model_toxicity_verdict_is_held_to_the_rails(local_llm: LLM) -> None:
    (result,) = ev.evaluate(EvalInput(output="You are a worthless idiot."), [{"name": "toxicity", "params": {"max_tokens": 60}}],
                            local_llm)
    assert result.label in ("non_toxic", "toxic", UNPARSEABLE)
    assert 1 <= result.attempts <= 3 and result.prompt_tokens > 50 and result.raw
    if result.label == UNPARSEABLE:
        assert result.attempts == 3
