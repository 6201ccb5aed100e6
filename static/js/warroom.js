/* War room: draws each tile's graphs, then polls state.json (same filters) and updates tiles
 * in place — state word, value, graph, incident — without reloading the page. Text comes
 * formatted by the server (value_text, incident_html), so nothing here re-renders a fragment. */
(function () {
  "use strict";
  var INTERVAL_MS = 2500;
  var STATES = ["healthy", "breached", "no_data", "insufficient_data"];

  function setState(el, state, label) {
    if (!el) { return; }
    STATES.forEach(function (s) { el.classList.remove("state-" + s); });
    el.classList.add("state-" + state);
    el.textContent = label;
  }

  /* The incident block comes rendered by the server (templates/ops/_incident.html, the
   * same fragment the page was first drawn with): one renderer, so a refresh keeps its
   * link, its "opened" line and its badges. Replaced only when it changed. */
  function renderIncident(box, html) {
    html = html || "";
    if (box.hmsIncident === undefined) { box.hmsIncident = box.innerHTML.trim(); }
    if (box.hmsIncident === html.trim()) { return; }
    box.innerHTML = html;
    box.hmsIncident = html.trim();
  }

  function apply(data, redraw) {
    data.tiles.forEach(function (tile) {
      var card = document.getElementById("tile-" + tile.id);
      if (!card) { return; }
      STATES.forEach(function (s) { card.classList.remove("state-card-" + s); });
      card.classList.add("state-card-" + tile.state);
      card.setAttribute("data-state", tile.state);
      setState(card.querySelector("[data-role=state]"), tile.state, tile.state_label);
      tile.slos.forEach(function (slo) {
        var box = card.querySelector("[data-slo='" + slo.id + "']");
        if (!box) { return; }
        setState(box.querySelector("[data-role=slo-state]"), slo.state, slo.state_label);
        box.querySelector("[data-role=value]").textContent = slo.value_text;
        var budget = box.querySelector("[data-role=budget]");
        if (budget) { budget.textContent = slo.budget_text; budget.hidden = !slo.budget_text; }
        var chart = box.querySelector("[data-chart]");
        if (redraw) { window.HmsCharts.draw(chart, slo.graph); }
        else { window.HmsCharts.update(chart, slo.graph); }
      });
      var incident = card.querySelector("[data-role=incident]");
      if (incident && !redraw) { renderIncident(incident, tile.incident_html); }
    });
    var at = document.getElementById("war-room-at");
    if (at) { at.setAttribute("datetime", data.at); at.textContent = data.at.slice(11, 19); }
  }

  function poll(url) {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) { apply(data, false); } })
      .catch(function () { /* the next poll retries */ })
      .then(function () { window.setTimeout(function () { poll(url); }, INTERVAL_MS); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var initial = document.getElementById("war-room-data");
    var endpoint = document.getElementById("war-room-endpoint");
    if (!initial || !endpoint) { return; }
    apply(JSON.parse(initial.textContent), true);
    window.setTimeout(function () { poll(endpoint.getAttribute("data-url")); }, INTERVAL_MS);
  });
})();
