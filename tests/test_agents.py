"""tenbin.agents: tolerant parsing, the loop's failure handling, read-only SQL, BM25, and the span tree.

The model is the scripted OpenAI-compatible server over real HTTP; traced runs go through the real
exporter to the real tenbin server on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

import tenbin
from tenbin.agents import (
    Agent,
    BM25Retriever,
    FinalAnswer,
    MalformedReply,
    ReadOnlyDatabase,
    SQLRefused,
    Tool,
    ToolCall,
    build_database,
    chunk_markdown,
    cited_passages,
    parse_action,
    search_docs_tool,
    sql_query_tool,
    tokenize,
)
from tenbin.agents.loop import ANSWER_SCHEMA
from tenbin.errors import InvalidInput, LLMUnavailable
from tenbin.llm import LLM
from tenbin.llm.scripted import ScriptedLLM
from tenbin.loopback import free_port
from tenbin.prompts.templates import Template
from tenbin.sdk.prompts import Prompt
from tenbin.store.models import Span
from tests.conftest import RunningServer

PAGES = {
    "refunds.md": "# Refunds\n\n## How to request\n\nOpen Billing, Invoices and click Request refund. "
                  "Annual plans are refunded within 30 days.\n",
    "sso.md": "# Single sign-on\n\nConnect Okta or Entra ID with SAML in Settings, Security.\n",
    "rate-limits.md": "# Rate limits\n\nThe API allows 300 requests per minute; a 429 means wait for Retry-After.\n",
    "ja-sync.md": "# 同期\n\nノートが同期できない場合は、サインアウトしてから再度サインインしてください。\n",
}
PLANS_SQL = """
CREATE TABLE plans (name TEXT, monthly_price_usd REAL);
INSERT INTO plans VALUES ('Free', 0), ('Plus', 8), ('Business', 15);
"""


@pytest.fixture
def docs(tmp_path: Path) -> BM25Retriever:
    for name, text in PAGES.items():
        (tmp_path / name).write_text(text, "utf-8")
    return BM25Retriever.from_markdown(tmp_path)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[ReadOnlyDatabase]:
    database = ReadOnlyDatabase(build_database(PLANS_SQL, tmp_path / "plans.db"), max_rows=2)
    yield database
    database.close()


@pytest.fixture
def traced(server: RunningServer) -> Iterator[RunningServer]:
    assert tenbin.init(server.url, project="agents")
    yield server
    tenbin.shutdown()


def replies(*texts: str) -> Callable[[list[dict[str, Any]]], str]:
    """A script that answers with `texts` in order, repeating the last one."""
    queue = list(texts)
    return lambda _messages: queue.pop(0) if len(queue) > 1 else queue[0]


def stored_spans(engine: Engine) -> list[Span]:
    assert tenbin.flush()
    with engine.connect() as conn:
        return list(conn.execute(select(Span).order_by(Span.start_us)))


# --- parsing -------------------------------------------------------------------------------------

SEARCH_SSO = ToolCall("search_docs", {"query": "sso"})


@pytest.mark.parametrize(("reply", "expected"), [
    ('{"tool": "search_docs", "args": {"query": "sso"}}', SEARCH_SSO),
    ('```json\n{"tool": "search_docs", "args": {"query": "sso"}}\n```', SEARCH_SSO),
    ('Sure! I will search.\n{"tool": "search_docs", "args": {"query": "sso"}}\nLet me know.', SEARCH_SSO),
    ("{'tool': 'search_docs', 'args': {'query': 'sso'}}", SEARCH_SSO),
    ('{"action": "search_docs", "action_input": {"query": "sso"}}', SEARCH_SSO),
    ('{"name": "search_docs", "arguments": "{\\"query\\": \\"sso\\"}"}', SEARCH_SSO),
    ('{"function": {"name": "search_docs", "arguments": {"query": "sso"}}}', SEARCH_SSO),
    ('{"tool": "search_docs", "query": "sso"}', SEARCH_SSO),
    ('{"tool": "search_docs", "args": {"query": "sso"}', SEARCH_SSO),
    ('{"action": "search_docs", "action_input": "sso"}', ToolCall("search_docs", "sso")),
    ('{"answer": "Open Billing.", "sources": [1, 2]}', FinalAnswer("Open Billing.", ("1", "2"))),
    ('{"answer": "Open Billing.", "sources": "[1]"}', FinalAnswer("Open Billing.", ("1",))),
    ('{"action": "Final Answer", "action_input": "Open Billing."}', FinalAnswer("Open Billing.")),
    ("Answer: You can get a refund within 30 days.", FinalAnswer("You can get a refund within 30 days.")),
    ("返金は 30 日以内に申請できます。", FinalAnswer("返金は 30 日以内に申請できます。")),
    ("```\nanswer: Open Billing.\n```", FinalAnswer("Open Billing.")),
    ("Use the {workspace} URL.", FinalAnswer("Use the {workspace} URL.")),
    ('Errors look like {"error": {"code": "x"}}.', FinalAnswer('Errors look like {"error": {"code": "x"}}.')),
])
def test_small_model_replies_are_read_as_the_intended_action(reply: str, expected: Any) -> None:
    assert parse_action(reply) == expected


@pytest.mark.parametrize("reply", ["", "   ", '{"foo": 1}', "tool: search_docs(query=sso"])
def test_unreadable_tool_calls_are_malformed_with_a_hint(reply: str) -> None:
    with pytest.raises(MalformedReply, match="answer|tool"):
        parse_action(reply)


# --- the loop -----------------------------------------------------------------------------------

def test_agent_calls_a_tool_then_answers_citing_its_passage(docs: BM25Retriever, db: ReadOnlyDatabase) -> None:
    script = replies('{"tool": "sql_query", "args": {"sql": "SELECT name FROM plans WHERE monthly_price_usd = 8"}}',
                     '{"answer": "The Plus plan costs $8 [1].", "sources": [1]}')
    with ScriptedLLM(script=script) as model:
        agent = Agent(LLM(model.base_url, model.model), [search_docs_tool(docs), sql_query_tool(db)],
                      pre_search="search_docs")
        result = agent.run("How do I request a refund?")
        observation = model.requests[1]["messages"][-1]["content"]
    assert result.answer == "The Plus plan costs $8 [1]." and result.fallback is None and result.steps == 2
    assert result.sources[0].id == "refunds.md#0" and result.passages[0] == result.sources[0]
    assert observation.startswith("Observation:") and "Plus" in observation
    first_prompt = model.requests[0]["messages"][-1]["content"]
    assert "[1] (refunds.md › How to request) Open Billing" in first_prompt


def test_answer_only_holds_the_model_to_the_answer_schema(docs: BM25Retriever) -> None:
    with ScriptedLLM(script=replies('{"answer": "Open Billing [1].", "sources": [1]}')) as model:
        agent = Agent(LLM(model.base_url, model.model), [search_docs_tool(docs)], pre_search="search_docs",
                      answer_only=True)
        result = agent.run("How do I request a refund?")
        sent = model.requests
    assert sent[0]["response_format"] == {"type": "json_object", "schema": ANSWER_SCHEMA}
    assert result.answer == "Open Billing [1]." and result.fallback is None


def test_malformed_tool_calls_are_retried_then_answered_plainly(docs: BM25Retriever) -> None:
    with ScriptedLLM(script=replies('{"tool": "web_search", "args": {"q": "refund"}}')) as model:
        agent = Agent(LLM(model.base_url, model.model), [search_docs_tool(docs)], pre_search="search_docs",
                      max_retries=2)
        result = agent.run("How do I request a refund?")
        sent = model.requests
    assert len(sent) == 3 and result.fallback == "malformed"
    assert "no tool 'web_search'; the tools are search_docs" in sent[1]["messages"][-1]["content"]
    assert result.answer.startswith("From refunds.md › How to request: Open Billing")
    assert [p.id for p in result.sources] == ["refunds.md#0"]


def test_bad_arguments_are_fed_back_naming_the_missing_one(docs: BM25Retriever) -> None:
    script = replies('{"tool": "search_docs", "args": {"text": "sso"}}', '{"answer": "Use SAML."}')
    with ScriptedLLM(script=script) as model:
        result = Agent(LLM(model.base_url, model.model), [search_docs_tool(docs)]).run("sso?")
        feedback = model.requests[1]["messages"][-1]["content"]
    assert "search_docs is missing query" in feedback and result.answer == "Use SAML."


def test_step_limit_stops_a_model_that_never_answers(docs: BM25Retriever) -> None:
    with ScriptedLLM(script=replies('{"tool": "search_docs", "args": {"query": "okta sso"}}')) as model:
        result = Agent(LLM(model.base_url, model.model), [search_docs_tool(docs)], max_steps=3).run("sso?")
        calls = len(model.requests)
    assert calls == 3 and result.steps == 3 and result.fallback == "step_limit"
    assert result.answer.startswith("From sso.md") and len(result.passages) == 3


def test_no_passages_and_no_answer_says_not_found() -> None:
    with ScriptedLLM(script=replies("")) as model:
        result = Agent(LLM(model.base_url, model.model), [], max_retries=0).run("anything?")
    assert result.answer == "I could not find that in the documentation." and result.sources == []


def test_tool_exception_is_fed_back_and_recorded_on_its_span(traced: RunningServer, engine: Engine) -> None:
    def explode(order: str) -> str:
        raise RuntimeError(f"order service timed out for {order}")

    schema = {"type": "object", "properties": {"order": {"type": "string"}}, "required": ["order"]}
    tool = Tool("lookup_order", "find an order", schema, explode)
    script = replies('{"tool": "lookup_order", "args": {"order": "A-7"}}', '{"answer": "Please try later."}')
    with ScriptedLLM(script=script) as model:
        result = Agent(LLM(model.base_url, model.model), [tool]).run("Where is order A-7?")
        observation = model.requests[1]["messages"][-1]["content"]
    assert "order service timed out for A-7" in observation and result.answer == "Please try later."
    span = next(s for s in stored_spans(engine) if s.kind == "TOOL")
    assert span.status == "ERROR" and "timed out" in span.status_message
    assert span.events[0]["attributes"]["exception.type"] == "RuntimeError"
    assert json.loads(span.input_value) == {"order": "A-7"} and span.attributes["tool.name"] == "lookup_order"


def test_unreachable_model_raises_and_marks_the_agent_span_error(traced: RunningServer, engine: Engine) -> None:
    llm = LLM(f"http://127.0.0.1:{free_port()}/v1", "m", timeout=2, max_retries=0)
    with pytest.raises(LLMUnavailable, match="TENBIN_LLM_BASE_URL"):
        Agent(llm, []).run("hello?")
    agent = next(s for s in stored_spans(engine) if s.kind == "AGENT")
    assert agent.status == "ERROR" and "LLMUnavailable" in agent.status_message


def test_run_leaves_a_span_tree_with_documents_tool_arguments_and_prompt_version(
    traced: RunningServer, engine: Engine, docs: BM25Retriever, db: ReadOnlyDatabase
) -> None:
    script = replies('{"tool": "sql_query", "args": {"sql": "SELECT name FROM plans"}}', '{"answer": "Free [1]."}')
    with ScriptedLLM(script=script) as model:
        agent = Agent(LLM(model.base_url, model.model), [search_docs_tool(docs), sql_query_tool(db)],
                      pre_search="search_docs", prompt_name="docs-answer", prompt_version="3")
        agent.run("How do I request a refund?")
    spans = stored_spans(engine)
    by_id = {s.span_id: s for s in spans}
    root = next(s for s in spans if s.kind == "AGENT")
    assert root.parent_id is None and root.output_value == "Free [1]."
    steps = [s for s in spans if s.kind == "CHAIN"]
    assert len(steps) == 3 and {s.parent_id for s in steps} == {root.span_id}
    llms = [s for s in spans if s.kind == "LLM"]
    assert len(llms) == 2 and all(by_id[s.parent_id].kind == "CHAIN" for s in llms)
    assert {(s.prompt_name, s.prompt_version) for s in llms} == {("docs-answer", "3")}
    tools = {s.name: s for s in spans if s.kind == "TOOL"}
    assert json.loads(tools["sql_query"].input_value) == {"sql": "SELECT name FROM plans"}
    assert tools["sql_query"].output_value.startswith("name\nFree\nPlus")
    assert json.loads(tools["search_docs"].attributes["tool.parameters"])["required"] == ["query"]
    retriever = next(s for s in spans if s.kind == "RETRIEVER")
    assert by_id[retriever.parent_id].name == "search_docs"
    documents = retriever.attributes["retrieval.documents"]
    assert documents[0]["id"] == "refunds.md#0" and documents[0]["score"] > 0
    assert json.loads(documents[0]["metadata"])["source"] == "refunds.md › How to request"


def chat_prompt(system: str, user: str, version: int = 7) -> Prompt:
    return Prompt("docs-answer", Template.create(messages=[{"role": "system", "content": system},
                                                           {"role": "user", "content": user}]), version)


def test_a_registry_prompt_is_rendered_with_the_agent_variables_and_recorded_on_the_spans(
    traced: RunningServer, engine: Engine, docs: BM25Retriever
) -> None:
    prompt = chat_prompt("You are {{ assistant }}. Be brief.", "Q: {{ question }}\n{{ passages }}")
    with ScriptedLLM(script=replies('{"answer": "Open Billing [1]."}')) as model:
        agent = Agent(LLM(model.base_url, model.model), [search_docs_tool(docs)], assistant="Kumo help",
                      pre_search="search_docs")
        agent.run("How do I request a refund?", history=[("Hi", "Hello")], prompt=prompt)
        sent = model.requests[0]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[0]["content"] == "You are Kumo help. Be brief."
    assert sent[-1]["content"].startswith("Q: How do I request a refund?\n[1] (refunds.md")
    spans = stored_spans(engine)
    llm = next(s for s in spans if s.kind == "LLM")
    agent_span = next(s for s in spans if s.kind == "AGENT")
    assert (llm.prompt_name, llm.prompt_version) == ("docs-answer", "7")
    assert (agent_span.prompt_name, agent_span.prompt_version) == ("docs-answer", "7")
    assert set(llm.prompt_variables) == {"assistant", "question", "passages"} and "Be brief" in llm.prompt_template


def test_a_text_prompt_is_the_system_message_and_the_turn_keeps_the_passages(docs: BM25Retriever) -> None:
    prompt = Prompt("docs-answer", Template.create("Answer as {assistant}, citing [n]."), 2)
    with ScriptedLLM(script=replies('{"answer": "Open Billing [1]."}')) as model:
        Agent(LLM(model.base_url, model.model), [search_docs_tool(docs)], assistant="a clerk",
              pre_search="search_docs").run("How do I request a refund?", prompt=prompt)
        sent = model.requests[0]["messages"]
    assert sent[0] == {"role": "system", "content": "Answer as a clerk, citing [n]."}
    assert sent[1]["content"].startswith("Passages:\n[1] (refunds.md")
    assert sent[1]["content"].endswith("Question: How do I request a refund?")


@pytest.mark.parametrize(("prompt", "message"), [
    (Prompt("p", Template.create("Hi {tone}"), 3),
     r"prompt 'p' v3 does not fit the agent: missing variable\(s\) \['tone'\].*The agent fills: assistant"),
    (Prompt("p", Template.create(messages=[{"role": "system", "content": "x"}, {"role": "assistant", "content": "y"}]),
            4), "ends with a 'assistant' message"),
])
def test_a_prompt_the_agent_cannot_fill_is_refused_before_any_model_call(prompt: Prompt, message: str) -> None:
    with ScriptedLLM(script=replies('{"answer": "x"}')) as model:
        with pytest.raises(InvalidInput, match=message):
            Agent(LLM(model.base_url, model.model), []).run("hello?", prompt=prompt)
        assert model.requests == []


# --- read-only SQL ------------------------------------------------------------------------------

@pytest.mark.parametrize(("sql", "reason"), [
    ("DROP TABLE plans", "not 'DROP'"),
    ("DELETE FROM plans", "not 'DELETE'"),
    ("SELECT 1; DROP TABLE plans", "one statement"),
    ("SELECT name FROM plans; SELECT 2", "one statement"),
    ("ATTACH DATABASE 'other.db' AS other", "not 'ATTACH'"),
    ("PRAGMA writable_schema = ON", "not 'PRAGMA'"),
    ("WITH doomed AS (SELECT 1) DELETE FROM plans", "DELETE plans"),
    ("SELECT * FROM pragma_table_info('plans')", "not allowed"),
    ("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n", "too long"),
    ("", "empty"),
])
def test_sql_query_refuses_anything_but_one_select_and_changes_nothing(
    db: ReadOnlyDatabase, sql: str, reason: str
) -> None:
    with pytest.raises(SQLRefused, match=reason):
        db.query(sql)
    assert db.query("SELECT count(*) FROM plans").rows == [(3,)]


def test_sql_query_returns_rows_capped_at_the_row_limit(db: ReadOnlyDatabase) -> None:
    result = db.query("SELECT name, monthly_price_usd FROM plans ORDER BY monthly_price_usd;")
    assert result.columns == ["name", "monthly_price_usd"] and result.rows == [("Free", 0.0), ("Plus", 8.0)]
    assert result.truncated and "only the first 2 rows" in result.as_text()
    assert db.query("SELECT 'a;b' AS s").rows == [("a;b",)]


def test_a_writable_connection_cannot_be_reached_through_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="build_database"):
        ReadOnlyDatabase(tmp_path / "missing.db")


# --- retrieval ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("question", "page"), [
    ("How do I get a refund?", "refunds.md"),
    ("Can we sign in with Okta?", "sso.md"),
    ("What does a 429 response mean?", "rate-limits.md"),
    ("ノートが同期できません", "ja-sync.md"),
])
def test_bm25_ranks_the_answering_page_first(docs: BM25Retriever, question: str, page: str) -> None:
    top = docs.search(question, k=2)[0]
    assert top.id.split("#")[0] == page and top.score > 0


def test_a_query_sharing_no_word_with_the_docs_finds_nothing(docs: BM25Retriever) -> None:
    assert docs.search("zebra xylophone", k=3) == [] and docs.search("the of and", k=3) == []


def test_japanese_is_split_into_bigrams_without_particle_noise() -> None:
    assert tokenize("返金はできますか") == ["返金"]
    assert tokenize("ノートが同期できません") == ["ノー", "ート", "同期"]
    assert tokenize("Refunds for invoices") == ["refund", "invoice"]


def test_chunks_follow_headings_and_overlap_within_a_section() -> None:
    para = "Sentence about seats and billing. " * 6
    text = f"# Seats\n\nIntro.\n\n## Adding\n\n{para}\n\n{para}\n\n{para}\n"
    chunks = chunk_markdown(text, "seats.md", max_chars=450)
    assert chunks[0].content == "Intro." and chunks[0].source == "seats.md"
    adding = [c for c in chunks if c.heading == "Adding"]
    assert len(adding) == 2 and adding[0].source == "seats.md › Adding"
    assert adding[0].content.split("\n")[-1] == adding[1].content.split("\n")[0]
    assert all(len(c.content) <= 450 for c in chunks)


# --- citations ----------------------------------------------------------------------------------

def test_restating_a_passage_cites_it_but_a_wrong_answer_with_shared_words_does_not(docs: BM25Retriever) -> None:
    passages = docs.search("How do I request a refund?", k=2)
    restated = "Open Billing, Invoices and click Request refund; annual plans are refunded within 30 days."
    assert cited_passages(restated, (), passages) == [passages[0]]
    assert cited_passages("The Team plan refund costs 20 dollars per user per month.", (), passages) == []
    assert cited_passages("See [2].", (), passages) == [passages[1]]
    assert cited_passages("Yes.", ("p1", "9", "unknown"), passages) == [passages[0]]
