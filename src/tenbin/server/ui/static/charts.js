// Overview charts: plotly over the JSON series the server put in #overview-series (and #overview-evals,
// #overview-costs).
(function () {
  const source = document.getElementById("overview-series");
  if (!source || !window.Plotly) { return; }
  const s = JSON.parse(source.textContent);
  const pct = (values) => values.map((v) => (v === null ? null : v * 100));
  const evals = JSON.parse((document.getElementById("overview-evals") || {}).textContent || "[]");
  const palette = ["#0d9488", "#7c3aed", "#ea580c", "#2563eb", "#db2777", "#65a30d"];
  const line = (y, name, color, x = s.x) => ({ x, y, name, type: "scatter", mode: "lines+markers", line: { color, width: 2 }, marker: { size: 5 }, connectgaps: true });
  const costs = JSON.parse((document.getElementById("overview-costs") || {}).textContent || "[]");
  const bar = (y, name, color, x = s.x) => ({ x, y, name, type: "bar", marker: { color } });
  const charts = {
    count: { data: [bar(s.count, "spans", "#6366f1")] },
    latency: { data: [line(s.p50, "p50", "#0ea5e9"), line(s.p95, "p95", "#f59e0b")] },
    tokens: { data: [bar(s.prompt_tokens, "prompt", "#8b5cf6"), bar(s.completion_tokens, "completion", "#c4b5fd")], layout: { barmode: "stack" } },
    errors: { data: [line(pct(s.error_rate), "error %", "#dc2626")], layout: { yaxis: { ticksuffix: "%", rangemode: "tozero" } } },
    thumbs_rate: { data: [line(pct(s.thumbs_up_rate), "thumbs-up %", "#16a34a")], layout: { yaxis: { ticksuffix: "%", range: [0, 105] } } },
    thumbs: { data: [bar(s.thumbs_up, "up", "#22c55e"), bar(s.thumbs_down, "down", "#ef4444")], layout: { barmode: "stack" } },
    cost: { data: costs.map((m, i) => bar(m.y, m.name, palette[i % palette.length], m.x)), layout: { barmode: "stack", showlegend: true, yaxis: { tickprefix: "$" } } },
    evals: { data: evals.map((e, i) => line(e.y, e.name, palette[i % palette.length], e.x)), layout: { showlegend: true, yaxis: { range: [0, 1.05] } } },
  };
  const base = {
    height: 200, margin: { l: 44, r: 10, t: 6, b: 30 }, paper_bgcolor: "#fff", plot_bgcolor: "#fff",
    font: { size: 11, family: "system-ui, sans-serif" },
    legend: { orientation: "h", x: 0, y: 1.12, font: { size: 10 } }, xaxis: { type: "date", gridcolor: "#f1f5f9" },
  };
  document.querySelectorAll("[data-chart]").forEach((el) => {
    const chart = charts[el.dataset.chart];
    if (!chart) { return; }
    const layout = Object.assign({ showlegend: chart.data.length > 1 }, base, chart.layout || {});
    layout.yaxis = Object.assign({ gridcolor: "#f1f5f9", rangemode: "tozero" }, layout.yaxis || {});
    Plotly.newPlot(el, chart.data, layout, { displayModeBar: false, responsive: true });
  });
})();
