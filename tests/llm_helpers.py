"""A scripted model behind the server's LLM settings, for tests whose judges/tasks run in the server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tenbin.llm.scripted import ScriptedLLM


@contextmanager
def configured_llm(monkeypatch: pytest.MonkeyPatch, script: Callable[[list[dict[str, Any]]], str]) -> Iterator[ScriptedLLM]:
    """Start a ScriptedLLM answering with `script` and point TENBIN_LLM_BASE_URL/MODEL at it."""
    with ScriptedLLM(script=script) as model:
        monkeypatch.setenv("TENBIN_LLM_BASE_URL", model.base_url)
        monkeypatch.setenv("TENBIN_LLM_MODEL", model.model)
        yield model
