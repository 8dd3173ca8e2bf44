// Draws the locality page's trust index over time with uPlot (vendor/uplot), from the
// JSON block #series: [{t, index, low, high, n}], null where a point is withheld.
(function () {
  "use strict";
  var holder = document.getElementById("chart");
  var source = document.getElementById("series");
  if (!holder || !source || typeof uPlot === "undefined") { return; }
  var points = JSON.parse(source.textContent || "[]");
  var pick = function (key) { return points.map(function (p) { return p[key]; }); };
  var data = [pick("t"), pick("index"), pick("low"), pick("high")];
  var width = Math.max(320, Math.min(holder.clientWidth || 900, 1100));
  var opts = {
    width: width,
    height: 320,
    scales: { y: { range: [1, 5] } },
    series: [
      { label: holder.dataset.labelTime },
      { label: holder.dataset.labelIndex, stroke: "#0b5cab", width: 2,
        points: { show: true, size: 7 }, spanGaps: false },
      { label: holder.dataset.labelLow, stroke: "#8fb3d9", dash: [4, 4] },
      { label: holder.dataset.labelHigh, stroke: "#8fb3d9", dash: [4, 4] }
    ],
    bands: [{ series: [3, 2], fill: "rgba(11, 92, 171, 0.12)" }],
    axes: [{}, { values: function (u, ticks) { return ticks.map(function (v) { return v.toFixed(1); }); } }]
  };
  new uPlot(opts, data, holder);
})();
