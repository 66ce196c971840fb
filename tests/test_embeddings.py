"""The embed job and similar spans on both databases, with the real WordLlama and MiniLM models."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, func, select, text

from tenbin.analytics.embedders import get_embedder
from tenbin.analytics.embedding import run_embed, span_text
from tenbin.errors import InvalidInput, NotFound
from tenbin.store.embeddings import pg_similar_sql, similar_spans
from tenbin.store.models import SpanEmbedding
from tests.embed_helpers import Recording, T0, TOPICS, llm_row, store_rows, topic_spans

SPANS = sum(len(p) for p in TOPICS.values())


def stored(engine: Engine, model: str) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(select(SpanEmbedding.span_id, SpanEmbedding.field, SpanEmbedding.dim)
                            .where(SpanEmbedding.model == model)).all()


def test_embed_job_stores_one_vector_per_llm_span_and_field(engine: Engine) -> None:
    by_topic = topic_spans(engine)
    embedder = get_embedder("wordllama")
    final = run_embed(engine, "p", embedder, "both", batch_size=4)
    rows = stored(engine, embedder.name)
    assert len(rows) == 2 * SPANS
    assert {r.span_id for r in rows} == {s for ids in by_topic.values() for s in ids}
    assert {r.dim for r in rows} == {256}
    assert final["status"] == "done" and final["processed"] == SPANS and final["backlog"] == 0


def test_rerunning_the_job_embeds_only_new_spans(engine: Engine) -> None:
    topic_spans(engine)
    embedder = Recording(get_embedder("wordllama"))
    run_embed(engine, "p", embedder, "input")
    assert len(embedder.texts) == SPANS
    embedder.texts.clear()
    store_rows(engine, [llm_row("A brand new question about refunds", "ok", T0 + 99 * 1_000_000)])
    run_embed(engine, "p", embedder, "input")
    assert embedder.texts == ["A brand new question about refunds"]
    assert len(stored(engine, embedder.name)) == SPANS + 1


@pytest.mark.parametrize("kind", ["wordllama", "minilm"])
def test_similar_spans_puts_the_same_topic_first(engine: Engine, kind: str) -> None:
    by_topic = topic_spans(engine)
    run_embed(engine, "p", get_embedder(kind), "input")
    for topic, ids in by_topic.items():
        result = similar_spans(engine, ids[0], field="input", limit=5)
        top = [item["span_id"] for item in result["items"]]
        assert set(top[:2]) == set(ids[1:]), (kind, topic, result["items"])
        scores = [item["score"] for item in result["items"]]
        assert scores == sorted(scores, reverse=True)
        assert ids[0] not in top


def test_similar_spans_stay_inside_the_project(engine: Engine) -> None:
    mine = topic_spans(engine, "mine")
    other = topic_spans(engine, "other")
    embedder = get_embedder("wordllama")
    run_embed(engine, "mine", embedder, "input")
    run_embed(engine, "other", embedder, "input")
    result = similar_spans(engine, mine["refund"][0], limit=20)
    assert len(result["items"]) == SPANS - 1
    assert not {i["span_id"] for i in result["items"]} & {s for ids in other.values() for s in ids}
    with pytest.raises(NotFound):
        similar_spans(engine, mine["refund"][0], project="other")


def test_similar_spans_of_an_unembedded_span_says_how_to_embed(engine: Engine) -> None:
    by_topic = topic_spans(engine)
    with pytest.raises(NotFound, match="tenbin embed"):
        similar_spans(engine, by_topic["pasta"][0])
    with pytest.raises(InvalidInput, match="field"):
        similar_spans(engine, by_topic["pasta"][0], field="prompt")


def test_chat_spans_embed_the_last_user_message_and_first_answer() -> None:
    row = llm_row("How long should I boil spaghetti?", "Nine minutes.", T0, chat=True)
    assert span_text(row, "input") == "How long should I boil spaghetti?"
    assert span_text(row, "output") == "Nine minutes."
    plain = llm_row("  plain question ", "plain answer", T0)
    assert span_text(plain, "input") == "plain question"
    assert span_text({**plain, "output_value": "  "}, "output") is None


@pytest.mark.parametrize("kind", ["wordllama", "minilm"])
def test_local_embedders_return_unit_float32_rows(kind: str) -> None:
    embedder = get_embedder(kind)
    vectors = embedder.embed(["refund my order", "boil the pasta", "zzqxj"])
    assert vectors.dtype == np.float32 and vectors.shape == (3, embedder.dim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_postgres_has_an_hnsw_index_for_each_model(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("HNSW indexes exist on PostgreSQL only")
    topic_spans(engine)
    run_embed(engine, "p", get_embedder("wordllama"), "input")
    run_embed(engine, "p", get_embedder("minilm"), "input")
    with engine.connect() as conn:
        defs = conn.execute(text("SELECT indexdef FROM pg_indexes WHERE tablename = 'span_embeddings'")).scalars().all()
        per_model = conn.execute(select(SpanEmbedding.model, func.count()).group_by(SpanEmbedding.model)).all()
    hnsw = [d for d in defs if "hnsw" in d]
    assert len(hnsw) == 2
    assert any("vector(384)" in d and "all-MiniLM-L6-v2" in d for d in hnsw)
    assert any("vector(256)" in d and "wordllama" in d for d in hnsw)
    assert dict(per_model) == {"all-MiniLM-L6-v2": SPANS, "wordllama-l2-supercat-256": SPANS}


def test_postgres_similar_query_can_use_the_models_hnsw_index(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("HNSW indexes exist on PostgreSQL only")
    by_topic = topic_spans(engine)
    embedder = get_embedder("wordllama")
    run_embed(engine, "p", embedder, "input")
    params = {"q": embedder.embed(["refund"])[0], "field": "input", "pid": 1, "sid": by_topic["refund"][0], "k": 3}
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = conn.execute(pg_similar_sql(embedder.name, embedder.dim, explain=True), params).scalars().all()
    assert any("ix_span_emb_hnsw_" in line for line in plan), plan


def test_embed_job_of_another_kind_embeds_only_those_spans_under_its_own_checkpoint(engine: Engine) -> None:
    llm_ids = {s for ids in topic_spans(engine).values() for s in ids}
    agent = {**llm_row("How do I get my money back?", "Open Billing, then Refunds.", T0 + 500), "kind": "AGENT"}
    store_rows(engine, [agent])
    embedder = Recording(get_embedder("wordllama"))
    final = run_embed(engine, "p", embedder, "input", kind="AGENT")
    assert embedder.texts == ["How do I get my money back?"] and final["processed"] == 1
    assert {r.span_id for r in stored(engine, embedder.name)} == {agent["span_id"]}
    run_embed(engine, "p", embedder, "input")
    assert {r.span_id for r in stored(engine, embedder.name)} == llm_ids | {agent["span_id"]}
    with pytest.raises(InvalidInput, match="span kind must be one of"):
        run_embed(engine, "p", embedder, "input", kind="agent")
