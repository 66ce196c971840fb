"""The embeddings page at 50,000 points: the page's scatter vs bare plotly on the same points, same run.

    .venv/bin/python benchmarks/bench_embeddings_page.py [--points 50000] [--clusters 20] [--runs 3]

Seeds N LLM spans of the planted-problem generator (`analytics/synthetic.py`, with their root spans and
thumbs) into a fresh SQLite file and stores one finished analysis over them through the store's
functions (points around `--clusters` centres in 2D and 3D; no UMAP, which bench_analysis times).
Then, with the real server on loopback and headless Chromium (/usr/bin/chromium; WebGL there is
SwiftShader, i.e. on the CPU, so a desktop GPU draws faster):
- points.json: server time and size (raw and gzip) of the column-wise payload;
- page: navigation start → the scatter drawn (`performance.mark("tenbin-scatter-ready")`: HTML,
  plotly.js, fetch + parse of points.json, one trace per cluster, drawn);
- recolour (by feedback) and 3D: from the change to two animation frames after Plotly is done;
- baseline: `Plotly.newPlot` of one `scattergl` trace with the same x/y arrays already in the page
  (no fetch, no grouping), timed the same way. Ratio = page / baseline.
Median of `--runs` runs each. Target (for the page to feel usable): the scatter drawn within 5 s.
"""

from __future__ import annotations

import argparse
import gzip
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402
from sqlalchemy import Engine  # noqa: E402

from tenbin.analytics import synthetic  # noqa: E402
from tenbin.loopback import LoopbackServer  # noqa: E402
from tenbin.server.app import create_app  # noqa: E402
from tenbin.store import analyses, migrate  # noqa: E402
from tenbin.store.engine import make_engine  # noqa: E402
from tenbin.store.seed import write_traffic  # noqa: E402

PROJECT = "bench"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
AFTER_FRAMES = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"


def seed(engine: Engine, n_points: int, n_clusters: int) -> int:
    """N LLM spans (N turns) and a finished analysis over them; returns its id."""
    traffic = synthetic.generate(n_turns=n_points, seed=3)
    write_traffic(engine, PROJECT, traffic.spans, traffic.feedback)
    rng = random.Random(5)
    centres = [(rng.uniform(-20, 20), rng.uniform(-20, 20), rng.uniform(-20, 20)) for _ in range(n_clusters)]
    points = []
    for row in traffic.spans:
        if row["kind"] != "LLM":
            continue
        c = rng.randrange(n_clusters) if rng.random() > 0.05 else -1
        cx, cy, cz = centres[c] if c >= 0 else (0.0, 0.0, 0.0)
        spread = 8.0 if c < 0 else 1.5
        side = "production" if row["start_us"] >= synthetic.T0_US + 7 * synthetic.DAY_US else "baseline"
        points.append({"span_id": row["span_id"], "side": side, "cluster": c, "x": rng.gauss(cx, spread),
                       "y": rng.gauss(cy, spread), "x3": rng.gauss(cx, spread), "y3": rng.gauss(cy, spread),
                       "z3": rng.gauss(cz, spread)})
    clusters = [{"cluster": c, "size": 0, "label": f"topic {c}", "metrics": {"log2_drift": math.sin(c)},
                 "problem_score": None if c < 0 else 1.0 / (c + 1), "rank": None if c < 0 else c + 1}
                for c in range(-1, n_clusters)]
    run = analyses.create_analysis(engine, PROJECT, {"field": "input", "model": "bench", "window": "", "baseline": ""})
    analyses.save_results(engine, run, drift={}, summary={"metadata_keys": ["task", "user_tier"]},
                          clusters=clusters, points=points)
    return run


def page_ms(page: Page, url: str) -> float:
    page.goto(url)
    page.wait_for_selector("#scatter[data-ready='1']", state="attached", timeout=120_000)
    page.evaluate(AFTER_FRAMES)
    return float(page.evaluate("performance.getEntriesByName('tenbin-scatter-ready')[0].startTime"))


def change_ms(page: Page, script: str) -> float:
    """Time from a change (colour-by or 2D/3D) to two frames after the scatter redrew."""
    return float(page.evaluate(f"""async () => {{
        const t0 = performance.now();
        {script}
        await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
        return performance.now() - t0; }}"""))


def baseline_ms(page: Page, base: str, points_url: str) -> float:
    """Bare plotly: one scattergl trace with the same x/y arrays, already in the page."""
    page.goto(base + "/static-vendor/plotly.min.js")  # same origin, nothing of tenbin's page
    page.set_content('<div id="p" style="width:800px;height:560px"></div>')
    page.add_script_tag(url=base + "/static-vendor/plotly.min.js")
    page.evaluate(f"async () => {{ const d = await (await fetch('{points_url}')).json(); window.xy = [d.x, d.y]; }}")
    return float(page.evaluate("""async () => {
        const t0 = performance.now();
        await Plotly.newPlot('p', [{type: 'scattergl', mode: 'markers', x: window.xy[0], y: window.xy[1],
                                    marker: {size: 4}}], {height: 560});
        await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
        return performance.now() - t0; }"""))


def run(args: argparse.Namespace, tmp: str) -> None:
    engine = make_engine(f"sqlite:///{tmp}/bench.db")
    migrate.upgrade(engine)
    t0 = time.perf_counter()
    analysis_id = seed(engine, args.points, args.clusters)
    print(f"seeded {args.points} points in {time.perf_counter() - t0:.1f} s")
    with LoopbackServer(create_app(engine=engine, auth=False)) as srv, sync_playwright() as pw:
        run_url = f"{srv.url}/projects/{PROJECT}/embeddings/{analysis_id}"
        server, raw = [], b""
        for _ in range(args.runs):
            t = time.perf_counter()
            raw = httpx.get(run_url + "/points.json", headers={"accept-encoding": "identity"}, timeout=120).content
            server.append(time.perf_counter() - t)
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=FLAGS)
        page_times, recolour, three_d, bare = [], [], [], []
        for _ in range(args.runs):
            page = browser.new_page(viewport={"width": 1400, "height": 900})  # a fresh context: nothing cached
            page_times.append(page_ms(page, run_url))
            recolour.append(change_ms(page, "const s = document.getElementById('color-by'); s.value = 'thumbs';"
                                            "s.dispatchEvent(new Event('change'));"))
            three_d.append(change_ms(page, "document.querySelector('input[name=dims][value=\"3\"]').click();"))
            bare.append(baseline_ms(page, srv.url, run_url + "/points.json"))
            page.close()
        browser.close()
    med = statistics.median
    print(f"\npoints.json: {len(raw) / 1e3:,.0f} kB raw, {len(gzip.compress(raw, 5)) / 1e3:,.0f} kB gzip, "
          f"server {med(server) * 1000:.0f} ms (median of {args.runs})")
    print(f"{'measure':44} {'median ms':>10}")
    rows: list[tuple[str, Any]] = [
        ("page: navigation → scatter drawn", med(page_times)), ("recolour by feedback", med(recolour)),
        ("switch to 3D (scatter3d)", med(three_d)), ("baseline: bare Plotly.newPlot scattergl", med(bare))]
    for name, value in rows:
        print(f"{name:44} {value:10.0f}")
    print(f"\npage / bare plotly: {med(page_times) / med(bare):.2f}x   "
          f"scatter drawn in {med(page_times) / 1000:.1f} s (target < 5 s) "
          f"{'OK' if med(page_times) < 5000 else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=50_000)
    parser.add_argument("--clusters", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(args, tmp)


if __name__ == "__main__":
    main()
