"""A LangChain RAG chain, traced by the public OpenInference LangChain instrumentor, lands in tenbin as one tree.

Chain under test: retriever → prompt template → `ChatOpenAI` (langchain-openai, real HTTP to the
scripted OpenAI-compatible server on loopback) → output parser, while `LangChainInstrumentor`
records every run → opentelemetry-sdk OTLP exporter → tenbin /v1/traces → store.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough
from langchain_openai import ChatOpenAI
from openinference.instrumentation.langchain import LangChainInstrumentor
from opentelemetry.sdk.trace import TracerProvider

from tenbin.llm.scripted import ScriptedLLM, count_tokens
from tests.integration_helpers import ancestors, only, scripted, stored_spans, traced_into  # noqa: F401 (fixture)

PROJECT = "langchain-test"
QUESTION = "How do I get a refund?"
SYSTEM = "Answer from these passages only:\n{context}"
PASSAGES = [
    Document(page_content="Refunds: open Billing → Refunds and pick the order.", metadata={"source": "billing.md"}),
    Document(page_content="Refunds take 5 business days.", metadata={"source": "faq.md"}),
    Document(page_content="Invite teammates from Settings → Members.", metadata={"source": "team.md"}),
]
RETRIEVED = PASSAGES[:2]


class KeywordRetriever(BaseRetriever):
    """The passages containing a longer word of the query: enough retrieval for a RETRIEVER span."""

    documents: list[Document]

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        words = [w for w in query.lower().strip("?").split() if len(w) > 3]
        return [d for d in self.documents if any(w in d.page_content.lower() for w in words)]


def rag_chain(llm: ScriptedLLM, model: str | None = None) -> Runnable[str, str]:
    """retriever + question → prompt template → chat model → string."""
    chat = ChatOpenAI(base_url=llm.base_url, api_key="sk-test", model=model or llm.model, max_retries=0)
    context = KeywordRetriever(documents=PASSAGES) | RunnableLambda(lambda docs: "\n".join(d.page_content for d in docs))
    prompt = ChatPromptTemplate.from_messages([("system", SYSTEM), ("human", "{question}")])
    return {"context": context, "question": RunnablePassthrough()} | prompt | chat | StrOutputParser()


@pytest.fixture
def provider(server: Any) -> Iterator[TracerProvider]:
    with traced_into(server.url, PROJECT, LangChainInstrumentor()) as provider:
        yield provider


def test_rag_chain_is_one_tree_with_chain_root_retriever_prompt_and_llm(provider, engine, scripted) -> None:
    answer = rag_chain(scripted).invoke(QUESTION)
    provider.force_flush()
    rows = stored_spans(engine)
    root = only(rows, parent_id=None)
    assert (root.kind, root.project, root.output_value) == ("CHAIN", PROJECT, answer)
    assert {r.trace_id for r in rows} == {root.trace_id}
    for kind in ("RETRIEVER", "PROMPT", "LLM"):
        assert ancestors(only(rows, kind=kind), rows)[-1].span_id == root.span_id
    assert only(rows, kind="LLM").parent_id == root.span_id
    assert only(rows, kind="PROMPT").parent_id == root.span_id


def test_retriever_span_carries_the_retrieved_documents(provider, engine, scripted) -> None:
    rag_chain(scripted).invoke(QUESTION)
    provider.force_flush()
    retriever = only(stored_spans(engine), kind="RETRIEVER")
    documents = retriever.attributes["retrieval.documents"]
    assert [d["content"] for d in documents] == [p.page_content for p in RETRIEVED]
    assert '"billing.md"' in documents[0]["metadata"]
    assert retriever.input_value == QUESTION


def test_llm_span_has_model_token_counts_and_rendered_messages(provider, engine, scripted) -> None:
    answer = rag_chain(scripted).invoke(QUESTION)
    provider.force_flush()
    llm = only(stored_spans(engine), kind="LLM")
    [request] = scripted.requests[-1:]
    assert (llm.model, llm.status) == (scripted.model, "OK")
    assert llm.total_tokens == llm.prompt_tokens + llm.completion_tokens and llm.completion_tokens > 0
    sent = [(m["role"], m["content"]) for m in llm.attributes["llm.input_messages"]]
    assert sent == [(m["role"], m["content"]) for m in request["messages"]]
    assert sent[0][1].startswith("Answer from these passages only:\nRefunds: open Billing")
    assert llm.attributes["llm.output_messages"][0]["content"] == answer


def test_prompt_span_stores_the_template_and_its_variables(provider, engine, scripted) -> None:
    rag_chain(scripted).invoke(QUESTION)
    provider.force_flush()
    prompt = only(stored_spans(engine), kind="PROMPT")
    assert prompt.prompt_template == SYSTEM
    assert prompt.prompt_variables == {"context": "\n".join(p.page_content for p in RETRIEVED)}


def test_streamed_chain_stores_the_assembled_answer_and_usage(provider, engine, scripted) -> None:
    chat = ChatOpenAI(base_url=scripted.base_url, api_key="sk-test", model=scripted.model, stream_usage=True)
    pieces = list((ChatPromptTemplate.from_messages([("human", "{question}")]) | chat | StrOutputParser()).stream(
        {"question": QUESTION}
    ))
    provider.force_flush()
    llm = only(stored_spans(engine), kind="LLM")
    assert len(pieces) > 3
    assert llm.attributes["llm.output_messages"][0]["content"] == "".join(pieces)
    assert llm.prompt_tokens == count_tokens(QUESTION) and llm.completion_tokens > 0


def test_failed_llm_call_marks_llm_and_root_chain_as_errors(provider, engine, scripted) -> None:
    with pytest.raises(openai.NotFoundError):
        rag_chain(scripted, model="no-such-model").invoke(QUESTION)
    provider.force_flush()
    rows = stored_spans(engine)
    llm = only(rows, kind="LLM")
    assert llm.status == "ERROR" and "no-such-model" in (llm.status_message or "")
    assert only(rows, parent_id=None).status == "ERROR"
    assert only(rows, kind="RETRIEVER").status == "OK"
