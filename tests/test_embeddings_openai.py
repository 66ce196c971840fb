"""The OpenAI-compatible embedder against the scripted server over real HTTP, and its errors."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from sqlalchemy import Engine

from tenbin.analytics.embedders import OpenAIEmbedder, get_embedder
from tenbin.analytics.embedding import run_embed
from tenbin.errors import InvalidInput, LLMError, LLMUnavailable
from tenbin.llm.scripted import DEFAULT_EMBEDDING_MODEL, EMBEDDING_DIM, ScriptedLLM, embed
from tenbin.loopback import free_port
from tenbin.store.embeddings import similar_spans
from tests.embed_helpers import topic_spans


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


def test_openai_embedder_returns_the_servers_vectors_normalized(llm: ScriptedLLM) -> None:
    embedder = OpenAIEmbedder(DEFAULT_EMBEDDING_MODEL, llm.base_url, batch_size=2)
    texts = ["refund my order", "boil the pasta", "who won the match"]
    vectors = embedder.embed(texts)
    assert embedder.dim == EMBEDDING_DIM and embedder.name == f"openai:{DEFAULT_EMBEDDING_MODEL}"
    assert vectors.dtype == np.float32 and vectors.shape == (3, EMBEDDING_DIM)
    assert np.allclose(vectors, np.asarray([embed(t) for t in texts], dtype=np.float32), atol=1e-6)


def test_embed_job_runs_on_the_openai_compatible_endpoint(engine: Engine, llm: ScriptedLLM) -> None:
    by_topic = topic_spans(engine)
    embedder = get_embedder("openai", model=DEFAULT_EMBEDDING_MODEL, base_url=llm.base_url)
    final = run_embed(engine, "p", embedder, "output")
    assert final["status"] == "done"
    result = similar_spans(engine, by_topic["pasta"][0], field="output", limit=3)
    assert result["model"] == f"openai:{DEFAULT_EMBEDDING_MODEL}" and len(result["items"]) == 3


def test_openai_embedder_errors_say_what_went_wrong(llm: ScriptedLLM) -> None:
    with pytest.raises(LLMError, match="404"):
        OpenAIEmbedder("no-such-model", llm.base_url).embed(["x"])
    with pytest.raises(LLMUnavailable, match="cannot reach"):
        OpenAIEmbedder("m", f"http://127.0.0.1:{free_port()}/v1").embed(["x"])
    with pytest.raises(InvalidInput, match="model name"):
        get_embedder("openai")
    with pytest.raises(InvalidInput, match="minilm, wordllama, openai"):
        get_embedder("bert")
