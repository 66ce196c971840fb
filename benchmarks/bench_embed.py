"""Embedding job throughput vs plain `SentenceTransformer.encode` on the same texts, same run.

    .venv/bin/python benchmarks/bench_embed.py [--spans 2000] [--batch-size 256] [--postgres]

Seeds N LLM spans (a question in, an answer out) into a fresh SQLite database (or, with --postgres,
an embedded PostgreSQL 18 with pgvector), then times: MiniLM `encode` over the 2N texts the job will
embed; the embed job (`tenbin embed --field both`: read batches, embed, write vectors, advance the
checkpoint per batch); `encode` again (to show drift from a noisy machine); and the same job with
the static WordLlama embedder. Target: job ≥ 0.9× encode.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sqlalchemy import Engine  # noqa: E402

from benchmarks._procs import run_in_tempdir  # noqa: E402
from tenbin.analytics.embedders import get_embedder  # noqa: E402
from tenbin.analytics.embedding import DEFAULT_BATCH, run_embed, span_text  # noqa: E402
from tenbin.store import migrate  # noqa: E402
from tenbin.store.engine import make_engine  # noqa: E402
from tests.embed_helpers import llm_row, store_rows  # noqa: E402

SUBJECTS = "refund invoice password account plan upgrade shipping order card export webhook api key team".split()
VERBS = "get change cancel reset find download update delete add move configure track".split()
FILLER = ("please", "quickly", "for my team", "since yesterday", "on the mobile app", "without losing data",
          "in the dashboard", "before the renewal", "after the migration", "for the enterprise plan")


def sentence(rng: random.Random, words: int) -> str:
    parts = [f"{rng.choice(VERBS)} the {rng.choice(SUBJECTS)} {rng.choice(FILLER)}" for _ in range(words // 6 + 1)]
    return " and ".join(parts).capitalize() + "."


def seed(engine: Engine, n: int) -> list[str]:
    rng = random.Random(11)
    rows = [llm_row("How do I " + sentence(rng, rng.randint(8, 30)), sentence(rng, rng.randint(30, 100)),
                    1_790_000_000_000_000 + i * 1000) for i in range(n)]
    for i in range(0, n, 1000):
        store_rows(engine, rows[i:i + 1000], "bench")
    return [t for r in rows for f in ("input", "output") if (t := span_text(r, f))]


def fresh_engine(args: argparse.Namespace, tmp: str, name: str) -> Engine:
    if args.postgres_url:
        from tests.conftest import _fresh_pg_url

        engine = make_engine(_fresh_pg_url(args.postgres_url))
    else:
        engine = make_engine(f"sqlite:///{tmp}/{name}.db")
    migrate.upgrade(engine)
    return engine


def timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run(args: argparse.Namespace, tmp: str) -> None:
    minilm, static = get_embedder("minilm"), get_embedder("wordllama")
    minilm.embed(["warm up the model"] * 8)
    engines = {name: fresh_engine(args, tmp, name) for name in ("minilm", "wordllama")}
    texts = seed(engines["minilm"], args.spans)
    seed(engines["wordllama"], args.spans)
    encode = minilm.model.encode
    kw = {"batch_size": 64, "normalize_embeddings": True, "show_progress_bar": False}
    t_encode = timed(lambda: encode(texts, **kw))
    t_job = timed(lambda: run_embed(engines["minilm"], "bench", minilm, "both", args.batch_size))
    t_encode2 = timed(lambda: encode(texts, **kw))
    t_static = timed(lambda: run_embed(engines["wordllama"], "bench", static, "both", args.batch_size))
    n = len(texts)
    best = min(t_encode, t_encode2)
    print(f"{args.spans} LLM spans, {n} texts, job batch {args.batch_size} spans, store {'postgresql' if args.postgres_url else 'sqlite'}")
    print(f"SentenceTransformer.encode (MiniLM)   {n / t_encode:8.1f} texts/s  (again after the job: {n / t_encode2:.1f})")
    print(f"embed job, MiniLM                     {n / t_job:8.1f} texts/s  = {best / t_job:.2f}× encode (best of the two)")
    print(f"embed job, WordLlama (static)         {n / t_static:8.1f} texts/s  = {t_job / t_static:.0f}× the MiniLM job")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
    parser.add_argument("--postgres", action="store_true", help="use an embedded PostgreSQL 18 (pgvector)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    def on_store(postgres_url: str | None, tmp: str) -> None:
        args.postgres_url = postgres_url
        run(args, tmp)

    run_in_tempdir("bench-embed-", args.postgres, on_store)


if __name__ == "__main__":
    main()
