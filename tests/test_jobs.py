"""Background jobs: an interrupted run resumes at its last committed batch, with no duplicates."""

from __future__ import annotations


import pytest
from sqlalchemy import Engine, func, select

from tenbin import jobs
from tenbin.analytics.embedders import get_embedder
from tenbin.analytics.embedding import embed_job, run_embed
from tenbin.errors import InvalidInput
from tenbin.store.jobs import get_checkpoint
from tenbin.store.models import SpanEmbedding
from tests.embed_helpers import Recording, TOPICS, topic_spans

SPANS = sum(len(p) for p in TOPICS.values())


class Interrupt(Exception):
    pass


def stop_after(batches: int) -> jobs.ProgressFn:
    seen: list[jobs.Progress] = []

    def progress(p: jobs.Progress) -> None:
        seen.append(p)
        if len(seen) == batches:
            raise Interrupt("stopped on purpose")
    return progress


def vector_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(SpanEmbedding)).scalar() or 0)


def test_interrupted_job_resumes_from_its_checkpoint_without_duplicates(engine: Engine) -> None:
    topic_spans(engine)
    embedder = Recording(get_embedder("wordllama"))
    with pytest.raises(Interrupt):
        run_embed(engine, "p", embedder, "input", batch_size=2, progress=stop_after(2))
    job = embed_job(engine, "p", embedder, "input", batch_size=2)
    failed = get_checkpoint(engine, job.project_id, job.name)
    assert failed is not None and failed["status"] == "failed" and "stopped on purpose" in failed["last_error"]
    assert failed["processed"] == 4 and vector_rows(engine) == 4
    assert failed["backlog"] == SPANS - 4
    seen: list[jobs.Progress] = []
    final = jobs.run_job(engine, job, seen.append)
    assert final["status"] == "done" and final["processed"] == SPANS and final["last_error"] is None
    assert vector_rows(engine) == SPANS
    assert len(embedder.texts) == len(set(embedder.texts)) == SPANS
    assert [p.processed for p in seen] == [6, 8, 9]
    assert seen[-1].backlog == 0 and seen[-1].total == SPANS


def test_a_job_cannot_run_twice_at_once_in_one_process(engine: Engine) -> None:
    topic_spans(engine)
    embedder = get_embedder("wordllama")
    job = embed_job(engine, "p", embedder, "input", batch_size=2)
    errors: list[Exception] = []

    def try_second_run(_: jobs.Progress) -> None:
        try:
            jobs.run_job(engine, embed_job(engine, "p", embedder, "input"))
        except InvalidInput as exc:
            errors.append(exc)
    jobs.run_job(engine, job, try_second_run)
    assert errors and "already running" in str(errors[0])
    assert not jobs.is_running(job.project_id, job.name)


def test_background_job_records_its_progress_in_the_database(engine: Engine) -> None:
    topic_spans(engine)
    job = embed_job(engine, "p", get_embedder("wordllama"), "both", batch_size=3)
    jobs.start_in_background(engine, job).join(timeout=120)
    done = get_checkpoint(engine, job.project_id, job.name)
    assert done is not None and done["status"] == "done" and done["processed"] == SPANS
    assert vector_rows(engine) == 2 * SPANS
