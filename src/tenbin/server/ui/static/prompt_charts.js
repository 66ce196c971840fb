// Prompt page charts: per-version metrics over time, plotly over the JSON the server put in #prompt-series.
(function () {
  const source = document.getElementById("prompt-series");
  if (!source || !window.Plotly) { return; }
  const s = JSON.parse(source.textContent);
  const colors = ["#6366f1", "#f59e0b"];
  const line = (version, i, y, extra) => {
    const rows = s.rows.filter((r) => r.version === version);
    return Object.assign({ x: rows.map((r) => r.bucket), y: rows.map(y), name: "v" + version, type: "scatter",
      mode: "lines+markers", connectgaps: true, line: { color: colors[i % colors.length], width: 2 } }, extra || {});
  };
  const perVersion = (y, extra) => s.versions.map((v, i) => line(v, i, y, extra));
  const orNull = (v, scale) => (v === null || v === undefined ? null : v * scale);
  const evals = s.versions.flatMap((v, i) => s.evals.map((name, j) => line(v, i, (r) => (r.evals[name] ? r.evals[name].mean : null),
    { name: "v" + v + " " + name, line: { color: colors[i % colors.length], dash: ["solid", "dot", "dash"][j % 3] } })));
  const charts = {
    thumbs: perVersion((r) => orNull(r.thumbs_up_rate, 100)),
    evals: evals,
    latency: perVersion((r) => r.latency_p50_ms).map((t) => ({ ...t, name: t.name + " p50" }))
      .concat(perVersion((r) => r.latency_p95_ms).map((t) => ({ ...t, name: t.name + " p95", line: { ...t.line, dash: "dot" } }))),
    tokens: perVersion((r) => r.tokens_per_span),
    cost: perVersion((r) => r.cost),
  };
  const layout = { height: 200, margin: { l: 44, r: 10, t: 6, b: 30 }, font: { size: 11, family: "system-ui, sans-serif" },
    legend: { orientation: "h", x: 0, y: 1.15 }, xaxis: { type: "date", gridcolor: "#f1f5f9" },
    yaxis: { rangemode: "tozero", gridcolor: "#f1f5f9" } };
  const buckets = [...new Set(s.rows.map((r) => r.bucket))];
  if (buckets.length === 1) {  // one bucket: show it with a bucket's width either side, not a millisecond
    const t = Date.parse(buckets[0]), w = s.bucket_seconds * 1000;
    layout.xaxis.range = [new Date(t - w).toISOString(), new Date(t + w).toISOString()];
  }
  document.querySelectorAll("[data-prompt-chart]").forEach((el) => {
    const data = charts[el.dataset.promptChart];
    if (!data || !data.length) { el.textContent = "no data"; el.classList.add("muted"); return; }
    Plotly.newPlot(el, data, Object.assign({ showlegend: data.length > 1 }, layout), { displayModeBar: false, responsive: true });
  });
})();
