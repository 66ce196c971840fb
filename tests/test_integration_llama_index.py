"""A LlamaIndex query engine, traced by the public OpenInference LlamaIndex instrumentor, lands in tenbin as one tree.

Chain under test: `VectorStoreIndex` over three documents (embedded through `OpenAILikeEmbedding`)
→ query engine → `OpenAILike` chat model, both speaking real HTTP to the scripted OpenAI-compatible
server on loopback, while `LlamaIndexInstrumentor` records every step → opentelemetry-sdk OTLP
exporter → tenbin /v1/traces → store. llama-index-core ships tiktoken's and nltk's data in its
wheel, so nothing is downloaded at run time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.query_engine import BaseQueryEngine
from llama_index.embeddings.openai_like import OpenAILikeEmbedding
from llama_index.llms.openai_like import OpenAILike
from openinference.instrumentation.llama_index import LlamaIndexInstrumentor
from opentelemetry.sdk.trace import TracerProvider

from tenbin.llm.scripted import ScriptedLLM, message_text
from tests.integration_helpers import ancestors, only, stored_spans, traced_into

PROJECT = "llama-index-test"
QUESTION = "How long do refunds take?"
PAGES = {
    "refunds.md": "How long do refunds take? Refunds take 5 business days.",
    "billing.md": "Refunds are requested from Billing, then Refunds.",
    "team.md": "Invite teammates from Settings, then Members.",
}


def quote_the_context(messages: list[dict[str, Any]]) -> str:
    """Answer with the first context sentence that mentions 'take': a grounded, checkable answer."""
    found = re.search(r"[^.?\n]*\btake \d[^.\n]*\.", message_text(messages[-1]))
    return found.group(0).strip() if found else "I don't know."


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedLLM]:
    with ScriptedLLM(script=quote_the_context) as llm:
        yield llm


@pytest.fixture(scope="module")
def index(scripted: ScriptedLLM) -> VectorStoreIndex:
    """The three pages embedded by the scripted server, built once and before tracing starts."""
    embed = OpenAILikeEmbedding(
        api_base=scripted.base_url, api_key="sk-test", model_name=scripted.embedding_model, max_retries=0
    )
    documents = [Document(text=text, metadata={"source": source}) for source, text in PAGES.items()]
    return VectorStoreIndex.from_documents(documents, embed_model=embed)


def query_engine(index: VectorStoreIndex, llm: ScriptedLLM, model: str | None = None) -> BaseQueryEngine:
    chat = OpenAILike(
        api_base=llm.base_url, api_key="sk-test", model=model or llm.model, is_chat_model=True, max_retries=0
    )
    return index.as_query_engine(llm=chat, similarity_top_k=2)


@pytest.fixture
def provider(server: Any) -> Iterator[TracerProvider]:
    with traced_into(server.url, PROJECT, LlamaIndexInstrumentor()) as provider:
        yield provider


@pytest.fixture
def answer(provider: TracerProvider, index: VectorStoreIndex, scripted: ScriptedLLM) -> str:
    """The question answered by the traced query engine, its spans flushed to tenbin."""
    response = query_engine(index, scripted).query(QUESTION)
    provider.force_flush()
    return str(response)


def innermost_llm(rows: list[Any]) -> Any:
    """The LLM span that made the HTTP call: LlamaIndex nests predict → chat → chat, all kind LLM."""
    llms = [r for r in rows if r.kind == "LLM"]
    parents = {r.parent_id for r in llms}
    [leaf] = [r for r in llms if r.span_id not in parents]
    return leaf


def test_query_is_one_tree_with_chain_root_retriever_embedding_and_llm(answer, engine) -> None:
    rows = stored_spans(engine)
    root = only(rows, parent_id=None)
    assert (root.kind, root.project, root.input_value, root.output_value) == ("CHAIN", PROJECT, QUESTION, answer)
    assert {r.trace_id for r in rows} == {root.trace_id}
    retriever = only(rows, kind="RETRIEVER", name="VectorIndexRetriever.retrieve")
    assert ancestors(retriever, rows)[-1].span_id == root.span_id
    embedding = [r for r in rows if r.kind == "EMBEDDING"]
    assert embedding and all(retriever in ancestors(e, rows) for e in embedding)
    llm = innermost_llm(rows)
    assert retriever not in ancestors(llm, rows) and ancestors(llm, rows)[-1].span_id == root.span_id


def test_retriever_span_has_the_ranked_documents_with_scores_and_sources(answer, engine) -> None:
    retriever = only(stored_spans(engine), kind="RETRIEVER", name="VectorIndexRetriever.retrieve")
    documents = retriever.attributes["retrieval.documents"]
    assert [d["content"] for d in documents] == [PAGES["refunds.md"], PAGES["billing.md"]]
    assert [json.loads(d["metadata"])["source"] for d in documents] == ["refunds.md", "billing.md"]
    assert documents[0]["score"] > documents[1]["score"]


def test_llm_span_has_model_tokens_messages_and_the_grounded_answer(answer, engine, scripted) -> None:
    llm = innermost_llm(stored_spans(engine))
    request = scripted.requests[-1]
    assert answer == "Refunds take 5 business days."
    assert (llm.model, llm.status) == (scripted.model, "OK")
    assert llm.total_tokens == llm.prompt_tokens + llm.completion_tokens and llm.completion_tokens > 0
    sent = [(m["role"], m["content"]) for m in llm.attributes["llm.input_messages"]]
    assert sent == [(m["role"], m["content"]) for m in request["messages"]]
    assert PAGES["billing.md"] in sent[-1][1] and PAGES["team.md"] not in sent[-1][1]
    assert llm.attributes["llm.output_messages"][0]["content"] == answer


def test_prompt_template_and_variables_are_stored_on_the_predict_span(answer, engine) -> None:
    predict = only(stored_spans(engine), kind="LLM", name="OpenAILike.predict")
    assert "{context_str}" in predict.prompt_template and "{query_str}" in predict.prompt_template
    assert predict.prompt_variables["query_str"] == QUESTION
    assert PAGES["refunds.md"] in predict.prompt_variables["context_str"]


def test_failed_llm_call_marks_llm_and_root_as_errors(provider, index, scripted, engine) -> None:
    with pytest.raises(openai.NotFoundError):
        query_engine(index, scripted, model="no-such-model").query(QUESTION)
    provider.force_flush()
    rows = stored_spans(engine)
    llm = innermost_llm(rows)
    assert llm.status == "ERROR" and "no-such-model" in (llm.status_message or "")
    assert only(rows, parent_id=None).status == "ERROR"
    assert only(rows, kind="RETRIEVER", name="VectorIndexRetriever.retrieve").status == "OK"
