"""Runs a dead process left `running`: marked `interrupted` when a server starts.

Analyses, prompt generations and eval experiments run on daemon threads of the server that started
them; if that process stops (crash, deploy, Ctrl-C) their rows would read `running` forever. At
start-up `mark_interrupted(engine, started_us)` marks those whose last progress write is older than
this process's start, with an error saying how to run them again.

The heuristic, for several replicas on one database: a live run on another replica keeps writing
progress, so only rows idle since before this start are touched. A live run that happened to write
nothing since then is marked too, but its next progress write sets it back to running (analyses and
experiments) and its end writes its final status (all three), so the mark never sticks to a live run.

Any run that is not going any more (interrupted, failed or done) can be run again with its stored
parameters (`analysis.rerun`, `experiment_reruns.rerun`, `autoprompt.runs.rerun`): a new run,
linked to the original by `rerun_of`; `refuse_active` keeps a live one from being doubled.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Engine, func, update

from tenbin.errors import InvalidInput
from tenbin.store.engine import write_transaction
from tenbin.store.lookup import now_us
from tenbin.store.models import Analysis, Experiment, PromptGeneration

MESSAGE = ("the server stopped during the run (its process ended before the run finished); re-run it with "
           "Run again on its page (or `rerun` in the CLI, POST …/rerun over REST)")


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


def refuse_active(what: str, status: str, active: Collection[str]) -> None:
    """Refuse to run `what` again while it is still going: a second copy would only double the work."""
    if status in active:
        raise InvalidInput(f"{what} is still {status}; wait for it to finish and run it again then, or, if the "
                           "server running it has stopped, restart `tenbin serve`: a start marks the runs it left "
                           "behind as interrupted, and those can be run again")
