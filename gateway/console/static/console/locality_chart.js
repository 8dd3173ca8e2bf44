// Draws the locality page's trust index over time with uPlot (vendor/uplot), from the
// JSON block #series: {points: [{t, index, low, high, n}], level, alerts: [{t, code}]},
// null where a point is withheld. The x axis starts at the first point with data; the
// alert threshold is a dashed red line, each alert a vertical mark with its code
// (codes that would overlap are stacked in rows).
// Months and numbers are written in the page's language.
(function () {
  "use strict";
  var holder = document.getElementById("chart");
  var source = document.getElementById("series");
  if (!holder || !source || typeof uPlot === "undefined") { return; }
  var chart = JSON.parse(source.textContent || "{}");
  var points = chart.points || [];
  var first = points.findIndex(function (p) { return p.index !== null; });
  if (first > 0) { points = points.slice(first); }
  var lang = holder.dataset.lang || document.documentElement.lang || "fr";
  var months = new Intl.DateTimeFormat(lang, { month: "short", year: "2-digit" });
  var decimal = new Intl.NumberFormat(lang, { minimumFractionDigits: 1, maximumFractionDigits: 2 });
  var pick = function (key) { return points.map(function (p) { return p[key]; }); };
  var level = typeof chart.level === "number" ? chart.level : null;
  var data = [pick("t"), pick("index"), pick("low"), pick("high")];
  var series = [
    { label: holder.dataset.labelTime, value: function (u, v) { return v === null ? "" : months.format(new Date(v * 1000)); } },
    { label: holder.dataset.labelIndex, stroke: "#0b5cab", width: 2, points: { show: true, size: 7 }, spanGaps: false,
      value: function (u, v) { return v === null ? "—" : decimal.format(v); } },
    { label: holder.dataset.labelLow, stroke: "#8fb3d9", dash: [4, 4], value: function (u, v) { return v === null ? "—" : decimal.format(v); } },
    { label: holder.dataset.labelHigh, stroke: "#8fb3d9", dash: [4, 4], value: function (u, v) { return v === null ? "—" : decimal.format(v); } }
  ];
  if (level !== null) {
    data.push(points.map(function () { return level; }));
    series.push({ label: holder.dataset.labelLevel, stroke: "#b42318", dash: [8, 4], width: 1.5, points: { show: false },
      value: function () { return decimal.format(level); } });
  }
  var marks = (chart.alerts || []).filter(function (a) { return points.length && a.t >= points[0].t - 30 * 86400; });
  // Labels of alerts a few pixels apart (two of the same day) would be drawn on top of
  // each other: each goes on the first row where it clears the labels already drawn
  // (oldest first, so a lone label stays on the top row). The boxes drawn, in CSS
  // pixels, are left on the holder as `markLabels` for the browser test.
  var drawMarks = function (u) {
    var ctx = u.ctx;
    var dpr = devicePixelRatio;
    var rowHeight = 14 * dpr;
    var gap = 4 * dpr;
    var rows = []; // the right edge of the last label of each row
    var boxes = [];
    ctx.save();
    ctx.strokeStyle = "#b42318";
    ctx.fillStyle = "#b42318";
    ctx.lineWidth = 2 * dpr;
    ctx.font = (11 * dpr) + "px system-ui, sans-serif";
    marks.slice().sort(function (a, b) { return a.t - b.t || a.code.localeCompare(b.code); }).forEach(function (a) {
      var x = u.valToPos(Math.min(a.t, u.scales.x.max), "x", true);
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      var text = "▲ " + a.code;
      var width = ctx.measureText(text).width;
      var left = Math.max(u.bbox.left, x - width - 3 * dpr);
      var row = rows.findIndex(function (right) { return right + gap <= left; });
      if (row < 0) { row = rows.length; rows.push(0); }
      rows[row] = left + width;
      var top = u.bbox.top + 2 * dpr + row * rowHeight;
      ctx.fillText(text, left, top + 10 * dpr);
      boxes.push({ code: a.code, left: left / dpr, right: (left + width) / dpr,
        top: top / dpr, bottom: (top + rowHeight) / dpr });
    });
    ctx.restore();
    holder.markLabels = boxes;
  };
  var width = Math.max(300, Math.min(holder.clientWidth || 900, 1100));
  var opts = {
    width: width,
    height: 320,
    scales: { y: { range: [1, 5] } },
    series: series,
    bands: [{ series: [3, 2], fill: "rgba(11, 92, 171, 0.12)" }],
    axes: [
      { splits: function () { return data[0]; }, // one tick per point: the end of each 30-day window
        values: function (u, ticks) { return ticks.map(function (v) { return months.format(new Date(v * 1000)); }); } },
      { values: function (u, ticks) { return ticks.map(function (v) { return decimal.format(v); }); } }
    ],
    hooks: { draw: [drawMarks] }
  };
  new uPlot(opts, data, holder);
})();
