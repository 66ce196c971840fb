"""`make demo`: tenbin on SQLite plus the local model (SmolLM2 via llama.cpp), then the Kumo Notes docs
chatbot answers a few hundred questions in several categories, many as multi-turn sessions, traced
through the real OTLP path. Its answer prompt comes from tenbin's registry, where a 50/50 A/B
experiment between two versions runs on session ids while it answers; feedback follows a checkable
rule (thumbs-down when the answer cites no retrieved passage or the question is out of scope).
Afterwards the liked answers become a dataset and the candidate prompt runs over it as an eval
experiment. An online eval rule scores a sample of the answers while the bot runs; at the end the
questions are embedded and clustered, the local model writes a report on the worst cluster, and a
monitor watches each cluster's thumbs-down rate. Both servers and the experiment keep running afterwards.

Each step is a function of its own module (see `tenbin.demo`); `main` runs them in order.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tenbin import config
from tenbin.demo import PROJECT, ab, analysis, console, evals, online, servers, traffic


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=config.DEMO_SESSIONS.get_int())
    parser.add_argument("--port", type=int, default=config.PORT.get_int())
    parser.add_argument("--llm-port", type=int, default=6207)
    parser.add_argument("--workers", type=int, default=2, help="model servers, each with its own worker")
    parser.add_argument("--workdir", type=Path, default=Path(".tenbin-demo"))
    parser.add_argument("--eval-examples", type=int, default=20, help="size of the dataset from the liked answers")
    parser.add_argument("--judge", action="store_true", help="add LLM judges: qa_correctness to the eval and "
                        "answer_relevance to the online rule (slow, and the 135M local model is a poor judge)")
    parser.add_argument("--stop", action="store_true", help="only stop the servers a demo left running")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    servers.stop_previous(workdir)
    if args.stop:
        return
    judge_model = args.llm_port + args.workers - 1
    url = servers.start_tenbin(workdir, args.port, f"http://127.0.0.1:{judge_model}/v1")
    console.print(f"tenbin is running at {url} (database {workdir / 'tenbin.db'})")
    with console.status("starting the local model (SmolLM2-135M-Instruct on llama.cpp)"):
        models = servers.start_models(workdir, args.llm_port, args.workers)
    console.print(f"local model at {', '.join(m.base_url for m in models)}")

    experiment = ab.start_experiment(url)
    console.print(f"A/B experiment {experiment['id']} started between two prompt versions; watch it live at "
                  f"[bold]{ab.page(url, experiment['id'])}[/bold]")
    online.create_rule(url, judge=args.judge)

    started = time.monotonic()
    answers, downs = traffic.converse(url, models, args.sessions)
    console.print(f"answered {answers} questions in {time.monotonic() - started:.0f} s; "
                  f"{downs} got a thumbs-down by the feedback rule")
    traffic.summary(url)
    ab.report(url, experiment["id"])
    online.report(url)

    candidate = experiment["arms"][1]["version"]
    evals.evaluate(url, models[0], candidate, args.eval_examples, judge=args.judge)
    analysis.analyze(url)

    console.print(f"\nOpen [bold]{url}/projects/{PROJECT}[/bold] in a browser (API docs at {url}/docs).")
    console.print("Stop the servers with: make demo-stop")


if __name__ == "__main__":
    main()
