"""Embedding analysis wall time and peak memory at 10k, 50k and 100k points, vs bare umap-learn + HDBSCAN.

    .venv/bin/python benchmarks/bench_analysis.py [--sizes 10000,50000,100000] [--postgres]
        [--unseeded] [--n-epochs N] [--display-epochs N] [--n-neighbors 15] [--min-cluster-size N]

Vectors: seeded synthetic 384-d unit vectors shaped like sentence embeddings (50 topics, each a
24-dimensional cloud inside the 384-d space, plus a little isotropic noise), all points, no
sampling. Per size, two child processes (so each peak RSS is its own):
- bare: `umap.UMAP(n_components=5, n_neighbors=15, metric="cosine", min_dist=0, random_state=42)`
  then `sklearn.cluster.HDBSCAN(min_cluster_size=max(15, √n), min_samples=5)` on the same vectors,
  in memory: the least that answers "which clusters are there";
- tenbin: `analyze()` on a store holding the same vectors as LLM spans (half baseline week, half
  production week): load from SQL, kNN once, 5-d + 2-d + 3-d UMAP, HDBSCAN, MMD drift test, cluster
  metrics, labels, and writing every point and cluster.
Each child first fits 300 and 5,000 points (both sides of the exact-kNN cut-off) so numba's
compilation is not timed; seeding the store is not timed either.
Target: tenbin at 100k under 120 s on the 2-core machine. Prints the ratio tenbin/bare and
tenbin's time per stage.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._procs import run_in_tempdir  # noqa: E402

DAY_US = 86_400_000_000
T0_US = 1_767_225_600_000_000
MODEL = "bench-384"


def vectors(n: int, dim: int = 384, topics: int = 50, latent: int = 24, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(topics, dim))
    bases = rng.normal(size=(topics, latent, dim)) / math.sqrt(latent)
    which = rng.integers(0, topics, n)
    coords = rng.normal(size=(n, latent))
    out = np.empty((n, dim), dtype=np.float32)
    for lo in range(0, n, 2000):
        # In blocks: `bases[which]` for all n at once is n×24×384 doubles (7 GB at 100k), which
        # would be every child's peak RSS instead of the analysis's own.
        hi = min(lo + 2000, n)
        x = centres[which[lo:hi]] + 0.9 * np.einsum("nl,nld->nd", coords[lo:hi], bases[which[lo:hi]])
        x += 0.15 * rng.normal(size=(hi - lo, dim))
        out[lo:hi] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bare(x: np.ndarray, args: argparse.Namespace) -> dict[str, Any]:
    import umap
    from sklearn.cluster import HDBSCAN

    def fit(data: np.ndarray) -> np.ndarray:
        reducer = umap.UMAP(n_components=5, n_neighbors=args.n_neighbors, metric="cosine", min_dist=0.0,
                            n_epochs=args.n_epochs, random_state=None if args.unseeded else 42)
        space = reducer.fit_transform(data)
        size = args.min_cluster_size or max(15, round(math.sqrt(len(data))))
        return HDBSCAN(min_cluster_size=size, min_samples=5).fit_predict(space)

    for warm in (300, 5000):
        fit(vectors(warm, seed=9))
    t0 = time.perf_counter()
    labels = fit(x)
    return {"seconds": time.perf_counter() - t0, "clusters": int(labels.max() + 1), "stages": {}}


def seed_store(engine: Any, x: np.ndarray) -> None:
    from tenbin.store.embeddings import insert_vectors
    from tenbin.store.engine import write_transaction
    from tenbin.store.models import SPAN_COLUMNS
    from tenbin.store.seed import write_traffic

    n, rows = len(x), []
    for i in range(n):
        row = dict.fromkeys(SPAN_COLUMNS)
        start = T0_US + (0 if i < n // 2 else 7 * DAY_US) + i * 1000
        row.update(span_id=f"{i + 1:016x}", trace_id=f"{i + 1:032x}", name="llm", kind="LLM", status="OK",
                   start_us=start, end_us=start + 500_000, latency_ms=500.0, input_value=f"text {i}",
                   metadata={"task": ("a", "b", "c")[i % 3]})
        row.pop("project_id")
        rows.append(row)
    pid = write_traffic(engine, "bench", rows)
    for i in range(0, n, 5000):
        with write_transaction(engine) as conn:
            insert_vectors(conn, pid, MODEL, [(r["span_id"], "input") for r in rows[i:i + 5000]], x[i:i + 5000])


def full(x: np.ndarray, args: argparse.Namespace, url: str) -> dict[str, Any]:
    from tenbin.analytics.analysis import AnalysisRequest, analyze
    from tenbin.analytics.clustering import HdbscanParams
    from tenbin.analytics.projection import UmapParams, project
    from tenbin.store import analyses, migrate
    from tenbin.store.engine import make_engine

    umap_params = UmapParams(n_neighbors=args.n_neighbors, n_epochs=args.n_epochs, seed=None if args.unseeded else 42,
                             **({"display_epochs": args.display_epochs} if args.display_epochs else {}))
    for warm in (300, 5000):
        project(vectors(warm, seed=9), umap_params)
    engine = make_engine(url)
    migrate.upgrade(engine)
    seed_store(engine, x)
    marks: list[tuple[str, float]] = []
    week = [f"{(T0_US + d * DAY_US) / 1e6:.0f}" for d in (0, 7, 14)]
    request = AnalysisRequest("bench", baseline=f"{week[0]}..{week[1]}", window=f"{week[1]}..{week[2]}",
                              model=MODEL, umap=umap_params, hdbscan=HdbscanParams(args.min_cluster_size))
    t0 = time.perf_counter()
    run = analyze(engine, request, lambda stage, _f: marks.append((stage, time.perf_counter())))
    seconds = time.perf_counter() - t0
    stages = {a[0]: round(b[1] - a[1], 1) for a, b in zip(marks, [*marks[1:], ("end", t0 + seconds)])}
    clusters = len([c for c in analyses.clusters(engine, run["id"]) if c["cluster"] != -1])
    return {"seconds": seconds, "clusters": clusters, "stages": stages}


def child(args: argparse.Namespace) -> None:
    x = vectors(args.n)
    out = bare(x, args) if args.child == "bare" else full(x, args, args.url)
    print(json.dumps({**out, "peak_mb": peak_mb()}))


def spawn(kind: str, n: int, args: argparse.Namespace, url: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", kind, "--n", str(n), "--url", url,
           "--n-neighbors", str(args.n_neighbors)]
    cmd += ["--unseeded"] if args.unseeded else []
    cmd += ["--n-epochs", str(args.n_epochs)] if args.n_epochs else []
    cmd += ["--display-epochs", str(args.display_epochs)] if args.display_epochs else []
    cmd += ["--min-cluster-size", str(args.min_cluster_size)] if args.min_cluster_size else []
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} at {n} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def store_url(args: argparse.Namespace, tmp: str, n: int) -> str:
    if args.postgres_url:
        from tests.conftest import _fresh_pg_url

        return _fresh_pg_url(args.postgres_url)
    return f"sqlite:///{tmp}/analysis-{n}.db"


def run(args: argparse.Namespace, tmp: str) -> None:
    print(f"UMAP n_neighbors={args.n_neighbors}, n_epochs={args.n_epochs or 'default'}, "
          f"display_epochs={args.display_epochs or 100}, "
          f"{'unseeded (parallel)' if args.unseeded else 'seed 42 (one thread)'}, "
          f"store {'postgresql' if args.postgres_url else 'sqlite'}, {os.cpu_count()} cores")
    print(f"{'points':>8} {'bare s':>8} {'tenbin s':>9} {'ratio':>6} {'bare MB':>8} {'tenbin MB':>10} "
          f"{'clusters':>9}  tenbin stages (s)")
    for n in args.sizes:
        b = spawn("bare", n, args, "")
        t = spawn("tenbin", n, args, store_url(args, tmp, n))
        stages = ", ".join(f"{k} {v}" for k, v in t["stages"].items())
        print(f"{n:>8} {b['seconds']:>8.1f} {t['seconds']:>9.1f} {t['seconds'] / b['seconds']:>5.2f}× "
              f"{b['peak_mb']:>8.0f} {t['peak_mb']:>10.0f} {b['clusters']:>4}/{t['clusters']:<4}  {stages}", flush=True)
        if n == 100_000:
            print(f"target: 100k in under 120 s: {'met' if t['seconds'] < 120 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--postgres", action="store_true", help="tenbin's store on an embedded PostgreSQL 18")
    parser.add_argument("--unseeded", action="store_true", help="no UMAP seed: parallel, not reproducible")
    parser.add_argument("--n-epochs", type=int, default=None)
    parser.add_argument("--display-epochs", type=int, default=None, help="tenbin's 2D/3D layouts (default 100)")
    parser.add_argument("--n-neighbors", type=int, default=15)
    parser.add_argument("--min-cluster-size", type=int, default=None)
    parser.add_argument("--child", choices=("bare", "tenbin"), help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    args.sizes = [int(s) for s in args.sizes.split(",")]

    def on_store(postgres_url: str | None, tmp: str) -> None:
        args.postgres_url = postgres_url
        run(args, tmp)

    run_in_tempdir("bench-analysis-", args.postgres, on_store)


if __name__ == "__main__":
    main()
