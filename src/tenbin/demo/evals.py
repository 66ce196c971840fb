"""The demo's offline evaluation, through the public SDK as a user would run it.

After the conversations, the first-turn answers users gave a thumbs-up become a dataset (a span
filter over the demo project: input = the question, expected = the liked answer, metadata = its
task, the docs page that answers it and the arm that answered). Then the candidate prompt v2 is
run over it through the bot (a Python-function task on the local model) and scored with code
checks that fit a docs bot: did the model answer itself (rather than the bot's fallback, which
quotes its best passage when the model's replies cannot be used), does it cite the page that
answers the question, how much of the liked answer it keeps, is it short. The LLM judge `qa_correctness` is opt-in (`--judge`): on the
135M local model it takes ~7 s a verdict and agrees poorly with its calibration set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tenbin
import tenbin.evals as ev
from tenbin.agents import tokenize
from tenbin.cli_datasets import print_experiment
from tenbin.client import Client
from tenbin.demo import PROJECT, console
from tenbin.demo.traffic import ModelServer, demo_bot
from tenbin.evals import EvalInput
from tenbin.examples.docs_bot import PROMPT_NAME, Answer, DocsBot
from tenbin.examples.docs_bot.questions import QUESTIONS
from tenbin.llm import LLM

DATASET = "liked-first-answers"
LIKED = 'kind == "AGENT" and session_step == 1 and feedback["thumbs"] == 1'
"""First turns only: a follow-up ("And if we pay annually?") means nothing without its session."""
SOURCES, FALLBACK = "\n\nSources: ", "\nFallback: "
PAGES = {q.text: q.page for questions in QUESTIONS.values() for q in questions if q.page}
EVALUATORS: list[ev.registry.Spec] = ["model_answered", "cites_expected_page", "overlap_with_liked_answer",
                                      {"name": "length", "params": {"max_chars": 700}}]


def as_output(answer: Answer) -> str:
    """The answer, then its sources, then why the bot answered for the model (if it did)."""
    text = f"{answer.text}{SOURCES}{'; '.join(answer.sources) or 'none'}"
    return f"{text}{FALLBACK}{answer.fallback}" if answer.fallback else text


def _parts(output: str | None) -> tuple[str, str, str]:
    """(answer, sources, fallback reason) of an `as_output` text."""
    text, _, footer = (output or "").partition(SOURCES)
    sources, _, fallback = footer.partition(FALLBACK)
    return text, sources, fallback


@ev.register("model_answered")
def model_answered(example: EvalInput) -> tuple[bool, str]:
    """The model's own reply is the answer, not the bot's fallback: what a prompt change can move."""
    fallback = _parts(example.output)[2]
    return not fallback, f"the bot answered for the model ({fallback})" if fallback else "the model answered"


@ev.register("cites_expected_page")
def cites_expected_page(example: EvalInput) -> tuple[bool, str]:
    """The answer's sources include the docs page that answers the question (metadata.page)."""
    page = example.metadata.get("page") or ""
    sources = _parts(example.output)[1]
    if page and page in sources:
        return True, f"cites {page}"
    return False, f"expected {page or '(no page)'}; cites {sources or 'nothing'}"


@ev.register("overlap_with_liked_answer", requires=("output", "reference"))
def overlap_with_liked_answer(example: EvalInput) -> tuple[float, str]:
    """Token F1 of the answer against the answer users liked (BM25 tokens: Japanese counts too)."""
    answer = set(tokenize(_parts(example.output)[0]))
    liked = set(tokenize(example.reference or ""))
    shared = len(answer & liked)
    if not shared:
        return 0.0, "no word in common with the liked answer"
    precision, recall = shared / len(answer), shared / len(liked)
    return 2 * precision * recall / (precision + recall), f"{shared} words shared with the liked answer"


def build_dataset(url: str, size: int, project: str = PROJECT) -> dict[str, Any] | None:
    """The newest liked first-turn answer to each of up to `size` questions; None when there is none yet."""
    with Client(url) as client:
        spans = client.spans(project, filter=LIKED, limit=None)
    examples: dict[str, dict[str, Any]] = {}
    for s in spans:
        question = s["input_value"]
        if question in PAGES and s["output_value"] and question not in examples and len(examples) < size:
            examples[question] = {"input": question, "expected": s["output_value"], "source_span_id": s["span_id"],
                                  "metadata": {"task": (s.get("metadata") or {}).get("task"), "page": PAGES[question],
                                               "answered_by": f"v{s['prompt_version']}"}}
    if not examples:
        return None
    return ev.create_dataset(DATASET, list(examples.values()), project=project, endpoint=url,
                             description=f"first-turn answers users liked, from the filter: {LIKED}")


def answer_with(bot: DocsBot, prompt: tenbin.Prompt) -> Callable[[str], str]:
    """The task: the bot answers with `prompt` pinned (see `as_output`)."""
    def docs_bot(question: str) -> str:
        return as_output(bot.ask(question, prompt=prompt))

    return docs_bot


def run_candidate(url: str, model: ModelServer, version: int, *, judge: bool = False,
                  project: str = PROJECT) -> dict[str, Any]:
    """Run prompt `version` over the dataset through the bot; the stored experiment with its results."""
    with Client(url) as client:
        prompt = tenbin.Prompt.from_version(client.prompt(PROMPT_NAME, project, version=version))
    evaluators = [*EVALUATORS, *(["qa_correctness"] if judge else [])]
    with demo_bot(model, prompt_from_registry=False) as bot:
        return ev.run_experiment(DATASET, answer_with(bot, prompt), evaluators, project=project, endpoint=url,
                                 name=f"docs bot with {PROMPT_NAME} v{version}",
                                 llm=LLM(model.base_url, model.model) if judge else None)


def evaluate(url: str, model: ModelServer, version: int, size: int, *, judge: bool = False,
             project: str = PROJECT) -> dict[str, Any] | None:
    """Build the dataset, run the candidate over it, print the results and where to see them."""
    console.rule("Eval experiment over the demo's own traffic")
    dataset = build_dataset(url, size, project)
    if dataset is None:
        console.print("No first-turn answer got a thumbs-up, so there is no dataset to evaluate on.")
        return None
    console.print(f"dataset {DATASET!r}: {dataset['example_count']} liked answers → {url}/projects/{project}/datasets/{DATASET}")
    with console.status(f"running {PROMPT_NAME} v{version} over {dataset['example_count']} examples on the local model"):
        exp = run_candidate(url, model, version, judge=judge, project=project)
    print_experiment(exp)
    console.print(f"Experiment: [bold]{url}/projects/{project}/experiments/{exp['id']}[/bold]")
    return exp
