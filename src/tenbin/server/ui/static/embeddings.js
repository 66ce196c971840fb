// Embeddings run page: the scatter (plotly; WebGL above GL_MIN points; 2D or 3D) over the column-wise
// points of …/points.json, colouring by cluster / feedback / side / prompt version / metadata key, the
// drift-over-time chart, and the cluster panel swapped in (server-rendered, escaped) on a click.
(function () {
  const box = document.getElementById("scatter");
  if (!box || !window.Plotly) { return; }
  const GL_MIN = 5000, MAX_CATEGORIES = 12;
  const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324",
    "#469990", "#800000", "#808000", "#000075", "#bfef45", "#fabed4", "#dcbeff", "#ffd8b1", "#aaffc3", "#a9a9a9"];
  const NOISE = "#cbd5e1", NONE = "#94a3b8";
  const status = document.getElementById("scatter-status");
  const colorBy = document.getElementById("color-by");
  const runUrl = box.dataset.runUrl;
  let data = null, selected = box.dataset.selected === "" ? null : Number(box.dataset.selected);

  const escapeHtml = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  const clusterName = (c) => (c.id === -1 ? "noise" : "#" + c.id) + (c.label ? " · " + c.label : "");
  const clusterColor = new Map();

  function assignClusterColors() {
    data.clusters.filter((c) => c.id !== -1).forEach((c, i) => clusterColor.set(c.id, PALETTE[i % PALETTE.length]));
    clusterColor.set(-1, NOISE);
    document.querySelectorAll("[data-swatch]").forEach((el) => {
      el.style.background = clusterColor.get(Number(el.dataset.swatch)) || NONE;
    });
  }

  // One category per point: {names, colors, code(i)}; codes index names, -1 is "(none)".
  function categories(kind) {
    if (kind === "cluster") {
      const order = data.clusters.map((c) => c.id), pos = new Map(order.map((id, i) => [id, i]));
      return { names: data.clusters.map(clusterName), colors: order.map((id) => clusterColor.get(id)),
        keys: order, code: (i) => pos.get(data.cluster[i]) };
    }
    if (kind === "thumbs") {
      return { names: ["no feedback", "thumbs up", "thumbs down"], colors: [NONE, "#16a34a", "#dc2626"], code: (i) => data.thumbs[i] };
    }
    if (kind === "side") {
      return { names: data.sides, colors: ["#4f46e5", "#f59e0b"], code: (i) => data.side[i] };
    }
    const source = kind === "version" ? { values: data.versions, codes: data.version } : data.meta[kind.slice(5)];
    const shown = source.values.slice(0, MAX_CATEGORIES), other = source.values.length > MAX_CATEGORIES;
    const names = shown.concat(other ? ["other"] : [], ["(none)"]);
    const none = names.length - 1, otherCode = shown.length;
    return { names: names, colors: names.map((_, j) => (j === none ? NONE : PALETTE[j % PALETTE.length])),
      code: (i) => { const c = source.codes[i]; return c < 0 ? none : (c < shown.length ? c : otherCode); } };
  }

  function traces(kind, dims) {
    const cat = categories(kind), groups = cat.names.map(() => []);
    for (let i = 0; i < data.n; i++) { const g = groups[cat.code(i)]; if (g) { g.push(i); } }
    const type = dims === 3 ? "scatter3d" : (data.n > GL_MIN ? "scattergl" : "scatter");
    const size = dims === 3 ? 2.5 : (data.n > GL_MIN ? 4 : 7);
    const pick = (col, idx) => idx.map((i) => col[i]);
    return groups.map((idx, j) => {
      const isSelected = kind === "cluster" && selected !== null && cat.keys[j] === selected;
      const dim = kind === "cluster" && selected !== null && !isSelected;
      const trace = { type: type, mode: "markers", name: escapeHtml(cat.names[j]),
        x: pick(dims === 3 ? data.x3 : data.x, idx), y: pick(dims === 3 ? data.y3 : data.y, idx),
        customdata: pick(data.cluster, idx),
        text: idx.map((i) => escapeHtml(data.preview[i])),
        hovertemplate: "%{text}<br>cluster %{customdata}<extra>" + escapeHtml(cat.names[j]) + "</extra>",
        marker: { color: cat.colors[j], size: isSelected ? size + 2 : size, opacity: dim ? 0.2 : 0.8 } };
      if (dims === 3) { trace.z = pick(data.z3, idx); }
      return trace;
    }).filter((t) => t.x.length);
  }

  function draw() {
    const dims = Number(document.querySelector("input[name=dims]:checked").value);
    const shown = traces(colorBy.value, dims);
    const axis = { showticklabels: false, zeroline: false, showgrid: false, title: { text: "" } };
    const layout = { height: 560, margin: { l: 10, r: 10, t: 10, b: 10 }, hovermode: "closest", uirevision: dims,
      legend: { itemsizing: "constant", font: { size: 11 } }, font: { family: "system-ui, sans-serif" },
      xaxis: axis, yaxis: axis, scene: { xaxis: axis, yaxis: axis, zaxis: axis } };
    Plotly.react(box, shown, layout, { responsive: true, displaylogo: false });
    status.textContent = data.n + " points · " + shown.length + " groups" + (shown[0] && shown[0].type === "scattergl" ? " · WebGL" : "");
  }

  function markRow() {
    document.querySelectorAll("tr.cluster-row").forEach((tr) => tr.classList.toggle("selected", Number(tr.dataset.cluster) === selected));
  }

  async function selectCluster(cluster) {
    selected = cluster;
    markRow();
    const panel = document.getElementById("cluster-panel");
    const answer = await fetch(runUrl + "/clusters/" + cluster + "?fragment=1", { credentials: "same-origin" });
    panel.innerHTML = await answer.text();  // server-rendered with autoescaping: user text arrives escaped
    assignClusterColors();
    history.replaceState(null, "", runUrl + "/clusters/" + cluster + window.location.search + "#cluster-panel");
    if (colorBy.value === "cluster") { draw(); }
  }

  function drawTimeline() {
    const el = document.getElementById("drift-chart"), t = data.timeline;
    if (!el) { return; }
    if (!t.x.length) { el.textContent = "no points"; return; }
    const names = new Map(data.clusters.map((c) => [c.id, clusterName(c)]));
    const lines = t.series.map((s) => ({ type: "scatter", mode: "lines+markers", x: t.x, y: s.share, name: escapeHtml(names.get(s.cluster)),
      line: { color: clusterColor.get(s.cluster), width: 2 }, hovertemplate: "%{y:.1%}<extra>" + escapeHtml(names.get(s.cluster)) + "</extra>" }));
    const shapes = t.production ? [{ type: "rect", xref: "x", yref: "paper", x0: t.production[0], x1: t.production[1], y0: 0, y1: 1,
      fillcolor: "#6366f1", opacity: 0.07, line: { width: 0 } }] : [];
    Plotly.newPlot(el, lines, { height: 260, margin: { l: 50, r: 10, t: 6, b: 30 }, shapes: shapes,
      yaxis: { tickformat: ".0%", rangemode: "tozero", title: "share of bucket" }, xaxis: { type: "date" },
      legend: { orientation: "h", y: -0.2 }, font: { size: 11, family: "system-ui, sans-serif" } },
      { displayModeBar: false, responsive: true });
  }

  document.addEventListener("click", (event) => {
    const row = event.target.closest("tr.cluster-row");
    if (row && !event.ctrlKey && !event.metaKey && event.target.closest("#clusters")) {
      event.preventDefault();
      selectCluster(Number(row.dataset.cluster));
    }
  });
  colorBy.addEventListener("change", draw);
  document.querySelectorAll("input[name=dims]").forEach((el) => el.addEventListener("change", draw));

  (window.tenbinPoints || fetch(box.dataset.pointsUrl, { credentials: "same-origin" }))
    .then((r) => { if (!r.ok) { throw new Error("points: HTTP " + r.status); } return r.json(); })
    .then((json) => {
      data = json;
      assignClusterColors();
      draw();
      drawTimeline();
      box.on("plotly_click", (ev) => { const p = ev.points && ev.points[0]; if (p) { selectCluster(Number(p.customdata)); } });
      box.dataset.ready = "1";
      performance.mark("tenbin-scatter-ready");  // for benchmarks/bench_embeddings_page.py and devtools
    })
    .catch((err) => { status.textContent = "could not load the points: " + err.message; });
})();
