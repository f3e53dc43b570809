// Draws the dashboard's charts from JSON embedded in the page, and redraws live pages
// from server-sent events. Chart.js is served from /static (no CDN).
"use strict";

function pageData(id) {
  const el = document.getElementById(id);
  return el ? JSON.parse(el.textContent) : null;
}

function lineChart(canvasId, labels, series, opts) {
  const canvas = document.getElementById(canvasId);
  if (!canvas) return null;
  const existing = Chart.getChart(canvas);
  if (existing) {
    existing.data.labels = labels;
    series.forEach((s, i) => { existing.data.datasets[i].data = s.data; });
    existing.update("none");
    return existing;
  }
  return new Chart(canvas, {
    type: (opts && opts.type) || "line",
    data: {
      labels: labels,
      datasets: series.map((s) => ({
        label: s.label, data: s.data, borderColor: s.color, backgroundColor: s.fill || s.color,
        fill: !!s.fill, pointRadius: 0, borderWidth: 1.5, showLine: s.showLine !== false,
      })),
    },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      scales: { x: { ticks: { maxTicksLimit: 10 } } },
      plugins: { legend: { display: series.length > 1 } },
    },
  });
}

function drawRun() {
  const curve = pageData("pnl-data");
  if (curve && curve.t.length) {
    lineChart("pnl-chart", curve.t, [{ label: "cumulative P&L ($)", data: curve.cum, color: "#2b6cd4" }]);
    lineChart("dd-chart", curve.t, [{ label: "drawdown ($)", data: curve.dd, color: "#b3261e", fill: "rgba(179,38,30,0.15)" }]);
  }
  const cal = pageData("calibration-data");
  if (cal && cal.bins.length) {
    const canvas = document.getElementById("calibration-chart");
    new Chart(canvas, {
      type: "scatter",
      data: { datasets: [
        { label: "realised win rate", data: cal.bins.map((b) => ({ x: b.predicted, y: b.realized })), backgroundColor: "#2b6cd4" },
        { label: "perfect calibration", data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], showLine: true, borderColor: "#999", pointRadius: 0 },
      ] },
      options: { animation: false, maintainAspectRatio: false, scales: { x: { min: 0, max: 1, title: { display: true, text: "predicted" } }, y: { min: 0, max: 1 } } },
    });
  }
  const q = pageData("q-data");
  if (q && q.histogram.length) {
    lineChart("q-chart", q.histogram.map((h) => h.low.toFixed(2)), [{ label: "trades", data: q.histogram.map((h) => h.trades), color: "#6b4fbb" }], { type: "bar" });
  }
}

function text(id, value) {
  const el = document.getElementById(id);
  if (el) el.textContent = value === null || value === undefined ? "n/a" : value;
}

function money(x) { return x === null || x === undefined ? "n/a" : x.toFixed(2); }

function rows(tableId, items, cells) {
  const body = document.querySelector("#" + tableId + " tbody");
  if (!body) return;
  body.replaceChildren(...items.map((item) => {
    const tr = document.createElement("tr");
    cells(item).forEach((c) => { const td = document.createElement("td"); td.textContent = c; tr.appendChild(td); });
    return tr;
  }));
}

function drawLive(snap) {
  text("live-state", snap ? "run " + snap.run_id + ", cycle " + snap.cycle + ", bar " + snap.bar : "no live or paper run in the journal");
  if (!snap) return;
  text("live-equity", money(snap.equity));
  text("live-today", money(snap.today_pnl));
  text("live-realized", money(snap.realized_pnl));
  text("live-alignment", snap.alignment);
  text("live-model", (snap.controller || "n/a") + (snap.model_version ? " " + snap.model_version : ""));
  text("live-health", snap.health ? JSON.stringify(snap.health.failures) : "n/a");
  lineChart("equity-chart", snap.equity_curve.map((p) => p.bar.slice(11, 16)), [{ label: "equity ($)", data: snap.equity_curve.map((p) => p.equity), color: "#2b6cd4" }]);
  rows("positions", snap.positions, (p) => [p.symbol, p.qty, money(p.avg_price), money(p.mark), money(p.unrealized)]);
  rows("orders", snap.open_orders, (o) => [o.tag, o.symbol, o.side, o.qty, o.state, o.filled_qty]);
  rows("decisions", snap.decisions, (d) => [d.bar ? d.bar.slice(11, 16) : d.cycle, d.action, d.reason, d.vetoes.map((v) => v.gate + ": " + v.reason).join("; ")]);
}

function drawTraining(mon) {
  text("training-system", mon.message);
  const empty = document.getElementById("queue-empty");
  if (empty) empty.hidden = mon.queue.length > 0;
  const decided = (d) => d ? d.stage + ": " + d.decision + ", " + d.n_trials + " trial(s), DSR " + (d.dsr === null || d.dsr === undefined ? "n/a" : d.dsr) : "";
  rows("queue", mon.queue, (i) => [i.id, i.family, i.param_hash.slice(0, 12), JSON.stringify(i.params), i.source + (i.client ? " (" + i.client + ")" : ""), i.status, decided(i.decision)]);
  rows("scoreboard", mon.scoreboard, (r) => [r.run_id, r.family, r.trades, money(r.per_trade_pnl), money(r.interval.low) + " .. " + money(r.interval.high), money(r.friction.fees_paid), r.family_trials, r.deflated_sharpe.dsr === null || r.deflated_sharpe.dsr === undefined ? "n/a" : r.deflated_sharpe.dsr.toFixed(3)]);
}

function subscribe(url, draw) {
  const source = new EventSource(url);
  source.addEventListener("update", (ev) => draw(JSON.parse(ev.data).data));
  return source;
}

document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  if (page === "run") drawRun();
  if (page === "live") {
    drawLive(pageData("live-data"));
    subscribe(document.body.dataset.stream, drawLive);
  }
  if (page === "training") {
    drawTraining(pageData("training-data"));
    subscribe(document.body.dataset.stream, drawTraining);
  }
});
