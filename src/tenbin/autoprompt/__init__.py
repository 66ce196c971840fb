"""Automatic prompt generation: from a task description and a dataset, the LLM proposes candidate
templates, each runs over the dataset and is scored with one evaluator, and the ranked candidates
can be saved as prompt versions.

It uses both the prompt registry (templates, builders, versions) and the evaluators (experiments),
so it lives above both. Modules: `plan` (the request, checked; the few-shot pool held out of
scoring), `generate` (proposals + builders → candidates), `scoring` (run, score, interval, rank),
`runs` (store, background run, save), `sdk` (the same over REST).

    import tenbin.autoprompt as ap
    run = ap.generate("faq", "Answer in one sentence", n=4, evaluator="contains", project="shop")   # REST
    run = ap.run(engine, "shop", {"dataset": "faq", "task": "Answer in one sentence"})             # in-process
    again = ap.rerun_generation(run["id"])   # a failed or interrupted run, again with the same request (REST)
"""

from tenbin.autoprompt.plan import MAX_CANDIDATES, Request
from tenbin.autoprompt.runs import get_run, list_runs, rerun, run, start
from tenbin.autoprompt.sdk import (
           generate,
           get_generation,
           rerun_generation,
           save_candidate,
           start_generation,
           wait,
)

__all__ = ["MAX_CANDIDATES", "Request", "generate", "get_generation", "get_run", "list_runs", "rerun",
           "rerun_generation", "run", "save_candidate", "start", "start_generation", "wait"]
