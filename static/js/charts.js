/* Charts for HMS Monitor pages: uPlot (static/vendor/uplot) with a horizontal target line.
 * A graph is {x: [epoch seconds], y: [values], line: number|null, label: string,
 * bands: [[from, to], ...] maintenance spans drawn as grey bands}. */
(function () {
  "use strict";

  function size(el) {
    return { width: Math.max(el.clientWidth || 300, 200), height: 160 };
  }

  /* The x range is the whole window (graph.from..graph.to when given), so one reading is
   * placed in time and the target line spans the chart. */
  function rows(graph) {
    var x = graph.x.slice();
    var y = graph.y.slice();
    if (graph.from !== undefined && (!x.length || x[0] > graph.from)) {
      x.unshift(graph.from); y.unshift(null);
    }
    if (graph.to !== undefined && (!x.length || x[x.length - 1] < graph.to)) {
      x.push(graph.to); y.push(null);
    }
    var line = x.map(function () { return graph.line; });
    return [x, y, line];
  }

  /* Maintenance spans: grey bands behind the lines (measured, not judged). */
  function drawBands(graph) {
    return function (u) {
      var bands = graph.bands || [];
      if (!bands.length) { return; }
      var ctx = u.ctx;
      ctx.save();
      ctx.fillStyle = "rgba(110, 119, 129, 0.18)";
      bands.forEach(function (band) {
        var left = u.valToPos(band[0], "x", true);
        var right = u.valToPos(band[1], "x", true);
        var lo = Math.max(left, u.bbox.left);
        var hi = Math.min(right, u.bbox.left + u.bbox.width);
        if (hi > lo) { ctx.fillRect(lo, u.bbox.top, hi - lo, u.bbox.height); }
      });
      ctx.restore();
    };
  }

  function options(el, graph) {
    var s = size(el);
    return {
      hooks: { drawClear: [drawBands(graph)] },
      width: s.width,
      height: s.height,
      // A key, not a readout: a live legend reads "Time: -- actual: --" until the pointer
      // is over the chart, so it names the lines (and the tooltip-free x axis shows time).
      legend: { show: !graph.compact, live: false },
      scales: { x: { time: true } },
      // Times in UTC, like the rest of the pages.
      tzDate: function (ts) { return window.uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); },
      series: [
        { label: "Time (UTC)" },
        { label: graph.label || "value", stroke: "#0969da", width: 2, spanGaps: true,
          points: { show: graph.x.length < 60, size: 6 } },
        { label: graph.lineLabel || "threshold", stroke: "#b42318", width: 1, dash: [6, 4],
          points: { show: false } },
      ],
    };
  }

  function draw(el, graph) {
    if (!el || !window.uPlot) { return null; }
    el.textContent = "";
    if (!graph.x.length) {
      var empty = document.createElement("p");
      empty.className = "muted";
      empty.textContent = "No readings in this window.";
      el.appendChild(empty);
      el.hmsChart = null;
      return null;
    }
    el.hmsChart = new window.uPlot(options(el, graph), rows(graph), el);
    return el.hmsChart;
  }

  function update(el, graph) {
    if (el && el.hmsChart && graph.x.length) {
      el.hmsChart.setData(rows(graph));
      return el.hmsChart;
    }
    return draw(el, graph);
  }

  function drawAll(root) {
    (root || document).querySelectorAll("[data-graph]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-graph"));
      if (source) { draw(el, JSON.parse(source.textContent)); }
    });
  }

  window.HmsCharts = { draw: draw, update: update, drawAll: drawAll };
  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
})();
