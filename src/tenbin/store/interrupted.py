"""Runs a dead process left `running`: marked `interrupted` when a server starts.

Analyses, prompt generations and eval experiments run on daemon threads of the server that started
them; if that process stops (crash, deploy, Ctrl-C) their rows would read `running` forever. At
start-up `mark_interrupted(engine, started_us)` marks those whose last progress write is older than
this process's start, with an error saying to re-run.

The heuristic, for several replicas on one database: a live run on another replica keeps writing
progress, so only rows idle since before this start are touched. A live run that happened to write
nothing since then is marked too, but its next progress write sets it back to running (analyses and
experiments) and its end writes its final status (all three), so the mark never sticks to a live run.
"""

from __future__ import annotations

from sqlalchemy import Engine, func, update

from tenbin.store.engine import write_transaction
from tenbin.store.lookup import now_us
from tenbin.store.models import Analysis, Experiment, PromptGeneration

MESSAGE = "the server stopped during the run (its process ended before the run finished); re-run it"


def mark_interrupted(engine: Engine, started_us: int) -> dict[str, int]:
    """Mark runs idle since before `started_us` as interrupted; how many of each kind."""
    now = now_us()
    with write_transaction(engine) as conn:
        analyses = conn.execute(update(Analysis).where(
            Analysis.status.in_(("queued", "running")),
            func.coalesce(Analysis.updated_us, Analysis.created_us) < started_us)
            .values(status="interrupted", error=MESSAGE, finished_us=now)).rowcount
        generations = conn.execute(update(PromptGeneration).where(
            PromptGeneration.status.in_(("proposing", "scoring")), PromptGeneration.updated_us < started_us)
            .values(status="interrupted", error=MESSAGE, updated_us=now, finished_us=now)).rowcount
        experiments = conn.execute(update(Experiment).where(
            Experiment.status == "running", func.coalesce(Experiment.updated_us, Experiment.created_us) < started_us)
            .values(status="interrupted", error=MESSAGE, updated_us=now)).rowcount
    return {"analyses": analyses, "prompt_generations": generations, "experiments": experiments}
