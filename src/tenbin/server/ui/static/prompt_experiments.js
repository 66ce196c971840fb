// Experiment charts: plotly over the JSON the server put in #experiment-series.
(function () {
  const source = document.getElementById("experiment-series");
  if (!source || !window.Plotly) { return; }
  const s = JSON.parse(source.textContent);
  const arms = s.arms.filter((a) => a.value !== null);
  const versions = [...new Set(s.performance.map((r) => r.version))];
  const perVersion = (field, scale) => versions.map((v) => {
    const rows = s.performance.filter((r) => r.version === v);
    return { x: rows.map((r) => r.bucket), y: rows.map((r) => { const y = field(r); return y === null ? null : y * scale; }),
      name: "v" + v, type: "scatter", mode: "lines+markers" };
  });
  const charts = {
    arms: [{ x: arms.map((a) => a.label), y: arms.map((a) => a.value), type: "bar", marker: { color: "#6366f1" },
      error_y: { type: "data", symmetric: false, array: arms.map((a) => (a.high === null ? 0 : a.high - a.value)),
        arrayminus: arms.map((a) => (a.low === null ? 0 : a.value - a.low)) } }],
    thumbs: perVersion((r) => r.thumbs_up_rate, 100),
    latency: perVersion((r) => r.latency_p95_ms, 1),
    tokens: perVersion((r) => (r.count ? r.total_tokens / r.count : null), 1),
  };
  const layout = { height: 200, margin: { l: 44, r: 10, t: 6, b: 30 }, font: { size: 11, family: "system-ui, sans-serif" },
    legend: { orientation: "h", x: 0, y: 1.15 }, yaxis: { rangemode: "tozero", gridcolor: "#f1f5f9" } };
  document.querySelectorAll("[data-ab-chart]").forEach((el) => {
    const data = charts[el.dataset.abChart];
    if (data) { Plotly.newPlot(el, data, Object.assign({ showlegend: data.length > 1 }, layout), { displayModeBar: false, responsive: true }); }
  });
})();
