"""Runs a dead server process left `running` are marked `interrupted` when a server starts, and REST
and the UI say so; a run whose progress is newer than the start (another replica's) is left alone."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine, update

from tenbin.loopback import LoopbackServer
from tenbin.server.app import create_app
from tenbin.store import analyses, migrate, prompt_generations
from tenbin.store import datasets as store
from tenbin.store.interrupted import MESSAGE, mark_interrupted
from tenbin.store.lookup import now_us
from tenbin.store.models import Analysis, Experiment, PromptGeneration


def _left_running(engine: Engine) -> dict[str, int]:
    """One analysis, prompt generation and experiment each, `running` with progress an hour old."""
    store.create_dataset(engine, "shop", "faq", [{"input": "hi", "expected": "hello"}])
    hour_ago = now_us() - 3_600_000_000
    exp = store.create_experiment(engine, "shop", "faq", 1, {"name": "support@v1"}, total=2)
    ana = analyses.create_analysis(engine, "shop", {"window": "1h"})
    gen = prompt_generations.create(engine, "shop", "faq", 1, "answer", {}, "m")
    with engine.begin() as conn:
        conn.execute(update(Experiment).values(updated_us=hour_ago, created_us=hour_ago))
        conn.execute(update(Analysis).values(status="running", updated_us=hour_ago, created_us=hour_ago))
        conn.execute(update(PromptGeneration).values(status="scoring", updated_us=hour_ago, created_us=hour_ago))
    return {"experiment": exp, "analysis": ana, "generation": gen}


def test_a_server_start_marks_runs_left_running_interrupted_and_rest_and_ui_show_it(engine: Engine) -> None:
    migrate.upgrade(engine)
    ids = _left_running(engine)
    with LoopbackServer(create_app(engine=engine, auth=False)) as srv:
        exp = httpx.get(f"{srv.url}/api/v1/projects/shop/experiments/{ids['experiment']}").json()
        assert (exp["status"], exp["error"]) == ("interrupted", MESSAGE)
        ana = httpx.get(f"{srv.url}/api/v1/analyses/{ids['analysis']}").json()
        assert (ana["status"], ana["error"]) == ("interrupted", MESSAGE)
        gen = httpx.get(f"{srv.url}/api/v1/prompt-generations/{ids['generation']}").json()
        assert (gen["status"], gen["error"]) == ("interrupted", MESSAGE)
        page = httpx.get(f"{srv.url}/projects/shop/experiments/{ids['experiment']}").text
        assert "interrupted" in page and "re-run it" in page


def test_a_run_with_progress_after_the_start_is_left_running(engine: Engine) -> None:
    migrate.upgrade(engine)
    ids = _left_running(engine)
    started = now_us() - 7_200_000_000
    assert mark_interrupted(engine, started) == {"analyses": 0, "prompt_generations": 0, "experiments": 0}
    store.set_experiment_progress(engine, ids["experiment"], 1)
    assert mark_interrupted(engine, now_us() - 60_000_000)["experiments"] == 0
    assert store.get_experiment(engine, "shop", ids["experiment"])["status"] == "running"
