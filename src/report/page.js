"use strict";
// reefer-report's page: draws the JSON in #data with SVG (charts, timeline)
// and one canvas (the map, where thousands of markers would make SVG slow).
// What it drew is counted into #drawn's data-* attributes, for tests.
(function () {
  var errors = [];
  window.addEventListener("error", function (e) { errors.push(String(e.message)); note(); });
  // console.error counts too (Chromium's log does not tell its level apart).
  var consoleError = console.error;
  console.error = function () { errors.push(Array.prototype.join.call(arguments, " ")); note(); return consoleError.apply(console, arguments); };
  var started = performance.now();
  // The data drawn: the page's own, or the latest a live server sent (--serve).
  var D, drawn = {}, C = [], PRODUCTS = {}, byContainer = {}, land = null;
  var SVGNS = "http://www.w3.org/2000/svg";
  var STATE = { ok: "#2e9d5b", warning: "#e3a008", critical: "#d64541", no_data: "#8a94a6" };
  var STATE_NAME = { ok: "ok", warning: "warning", critical: "critical", no_data: "no data" };
  var PALETTE = ["#d64541", "#7b4fd0", "#1d8fbf", "#e3a008", "#c2410c", "#0f9d8a", "#6b7280", "#db2777", "#4d7c0f", "#0e7490"];
  var FAULT_COLOR = {
    power_off: "#d64541", compressor_failure: "#7b4fd0", fan_failure: "#1d8fbf", door_open: "#e3a008",
    temperature_sensor: "#c2410c", co2_sensor: "#0f9d8a", o2_sensor: "#4d7c0f", temperature_excursion: "#db2777"
  };
  function $(id) { return document.getElementById(id); }
  function faultColor(i) { var n = D.faults[i]; return FAULT_COLOR[n] || PALETTE[i % PALETTE.length]; }
  function svg(tag, attrs, parent) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function h(tag, attrs, text, parent) {
    var e = document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function num(n) { return Math.round(n).toLocaleString("en-US"); }
  function pct(a, b) { return b > 0 ? (100 * a / b).toFixed(1) + " %" : "–"; }
  function time(ms) { return ms == null ? "–" : new Date(ms).toISOString().slice(0, 16).replace("T", " ") + "Z"; }
  function dur(ms) {
    if (ms == null) return "–";
    var s = Math.round(ms / 1000);
    if (s < 60) return s + " s";
    var m = Math.round(s / 60);
    if (m < 60) return m + " min";
    return Math.floor(m / 60) + " h " + (m % 60 ? (m % 60) + " min" : "");
  }
  function note() {
    var d = $("drawn");
    for (var k in drawn) d.setAttribute("data-" + k, drawn[k] == null ? "" : String(drawn[k]));
    d.setAttribute("data-errors", String(errors.length));
    d.setAttribute("data-error-text", errors.join(" | "));
  }

  // Containers as objects; series decoded on demand.
  function load(data) {
  D = data;
  drawn = { containers: 0, markers: 0, episodes: 0, alerts: 0, rows: 0, truth: 0, live: D.live ? 1 : 0, readings: D.counts.readings };
  C = D.containers.map(function (a, i) {
    return { i: i, id: a[0], product: a[1], lat: a[2], lon: a[3], state: a[4], readings: a[5], inBand: a[6],
      last: a[7], setpoint: a[8], lastTemp: a[9], start: a[10], width: a[11], n: a[12], mask: a[13], b64: a[14] };
  });
  PRODUCTS = {};
  D.products.forEach(function (p) { PRODUCTS[p[0]] = { id: p[0], name: p[1], readings: p[2], inBand: p[3], setpoint: p[4], lo: p[5], hi: p[6] }; });
  byContainer = {};
  group(D.episodes, "episodes"); group(D.truth, "truth"); group(D.alerts, "alerts");
  if (!land) land = D.land.split("\n").filter(function (l) { return l && l[0] !== "#"; }).map(function (l) {
    return l.split(" ").map(function (p) { var xy = p.split(","); return [xy[0] / 10, xy[1] / 10]; });
  });
  }
  function group(list, kind) {
    list.forEach(function (e) {
      var ci = kind === "alerts" ? e[1] : e[0];
      if (ci == null) return;
      var g = byContainer[ci] || (byContainer[ci] = { episodes: [], truth: [], alerts: [] });
      g[kind].push(e);
    });
  }

  function decode(c) {
    var bin = atob(c.b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var all = new Int16Array(bytes.buffer), out = {}, k = 0;
    D.channels.forEach(function (ch, j) {
      if (!(c.mask & (1 << j))) return;
      var v = new Array(c.n);
      for (var b = 0; b < c.n; b++) { var x = all[k * c.n + b]; v[b] = x === -32768 ? null : x / ch[1]; }
      out[ch[0]] = v; k++;
    });
    return out;
  }

  var SECTIONS = ["overview", "mappanel", "timelinepanel", "drill", "alertspanel"];
  var FILLED = ["cards", "bands", "alertkinds", "delays", "maplegend", "timeline", "faultlegend", "matches", "drillinfo", "charts", "alerttable"];

  // ---- overview ----
  function cards() {
    var c = D.counts, open = 0, critical = 0, states = { ok: 0, warning: 0, critical: 0, no_data: 0 };
    C.forEach(function (x) { states[x.state]++; });
    D.alerts.forEach(function (a) { if (a[4]) { open++; if (a[3] === "critical") critical++; } });
    var epOpen = D.episodes.filter(function (e) { return e[5] == null; }).length;
    var readings = 0, inBand = 0;
    D.products.forEach(function (p) { readings += p[2]; inBand += p[3]; });
    var list = [
      ["Containers", num(c.containers), states.critical + " critical · " + states.warning + " warning · " + states.no_data + " no data"],
      ["Readings", num(readings || c.readings), c.rows ? num(c.rows) + " window rows" : num(c.readings) + " records"],
      ["In band", pct(inBand, readings), "of readings, all products"],
      ["Fault episodes", num(c.episodes), epOpen + " open · " + num(c.events) + " events"],
      ["Alerts", num(c.alerts), c.alerts ? open + " open · " + critical + " critical open" : "no --alerts database"]
    ];
    list.forEach(function (x) {
      var d = h("div", { "class": "card" }, null, $("cards"));
      h("div", { "class": "k" }, x[0], d); h("div", { "class": "v" }, x[1], d); h("div", { "class": "s" }, x[2], d);
    });
  }

  function bands() {
    var rows = D.products.filter(function (p) { return p[2] > 0; });
    var W = Math.max(320, $("bands").clientWidth || 600), RH = 24, L = 170, R = 120;
    var s = svg("svg", { width: W, height: rows.length * RH + 8, "class": "bands" }, $("bands"));
    rows.forEach(function (p, i) {
      var y = i * RH + 4, share = p[3] / p[2], w = W - L - R;
      svg("text", { x: 0, y: y + 15 }, s).textContent = p[0] + (p[1] ? " " + p[1] : "");
      svg("rect", { x: L, y: y + 3, width: w, height: 16, rx: 3, "class": "bar-bg" }, s);
      svg("rect", { x: L, y: y + 3, width: Math.max(1, w * share), height: 16, rx: 3, fill: share > 0.95 ? STATE.ok : share > 0.8 ? STATE.warning : STATE.critical }, s);
      svg("text", { x: L + w + 8, y: y + 15 }, s).textContent = pct(p[3], p[2]) + " of " + num(p[2]);
    });
    if (!rows.length) h("p", { "class": "note" }, "No readings with a product.", $("bands"));
  }

  function alertKinds() {
    var fromAlerts = D.alerts.length > 0, rows = {};
    var list = fromAlerts
      ? D.alerts.map(function (a) { return [a[2], a[3], a[4]]; })
      : D.episodes.map(function (e) { return [e[1], e[2], e[5] == null]; });
    list.forEach(function (x) {
      var r = rows[x[0]] || (rows[x[0]] = { warning: [0, 0], critical: [0, 0] });
      r[x[1]][x[2] ? 0 : 1]++;
    });
    var box = $("alertkinds");
    if (!list.length) { h("p", { "class": "note" }, "No alerts and no fault events in the input.", box); return; }
    var t = h("table", {}, null, box), hr = h("tr", {}, null, h("thead", {}, null, t));
    [fromAlerts ? "alert kind" : "episode kind", "critical open", "critical resolved", "warning open", "warning resolved"].forEach(function (x, i) {
      h("th", i ? { "class": "num" } : {}, x, hr);
    });
    var tb = h("tbody", {}, null, t);
    if (!fromAlerts) h("p", { "class": "note" }, "Episodes from the fault events: give reefer-act's database with --alerts to count its alerts.", box);
    Object.keys(rows).sort(function (a, b) { return D.faults[a] < D.faults[b] ? -1 : 1; }).forEach(function (k) {
      var r = rows[k], tr = h("tr", {}, null, tb), td = h("td", {}, null, tr);
      h("i", { style: "display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;background:" + faultColor(+k) }, null, td);
      td.appendChild(document.createTextNode(D.faults[k]));
      [r.critical[0], r.critical[1], r.warning[0], r.warning[1]].forEach(function (v) { h("td", { "class": "num" }, String(v), tr); });
    });
  }

  function delays() {
    if (!D.delays.length) return;
    $("delaypanel").hidden = false;
    var t = h("table", {}, null, $("delays")), hr = h("tr", {}, null, h("thead", {}, null, t));
    ["fault (label)", "labelled episodes", "detected", "recall", "median delay", "90th percentile"].forEach(function (x, i) { h("th", i ? { "class": "num" } : {}, x, hr); });
    var tb = h("tbody", {}, null, t);
    D.delays.forEach(function (d) {
      var tr = h("tr", {}, null, tb);
      h("td", {}, d[0], tr);
      [String(d[1]), String(d[2]), pct(d[2], d[1]), dur(d[3]), dur(d[4])].forEach(function (v) { h("td", { "class": "num" }, v, tr); });
    });
  }

  // ---- map ----
  var markers = [];
  function drawMap() {
    var cv = $("map"), W = cv.clientWidth || 1000, H = Math.round(W * 0.45), dpr = window.devicePixelRatio || 1;
    cv.width = W * dpr; cv.height = H * dpr; cv.style.height = H + "px";
    var g = cv.getContext("2d");
    g.scale(dpr, dpr);
    var LAT_TOP = 80, LAT_BOTTOM = -58;
    function px(lon, lat) { return [(lon + 180) / 360 * W, (LAT_TOP - lat) / (LAT_TOP - LAT_BOTTOM) * H]; }
    g.fillStyle = "#dbe9f6"; g.fillRect(0, 0, W, H);
    g.strokeStyle = "rgba(255,255,255,.6)"; g.lineWidth = 1;
    for (var lo = -150; lo <= 150; lo += 30) { var a = px(lo, 0); g.beginPath(); g.moveTo(a[0], 0); g.lineTo(a[0], H); g.stroke(); }
    for (var la = -30; la <= 60; la += 30) { var b = px(0, la); g.beginPath(); g.moveTo(0, b[1]); g.lineTo(W, b[1]); g.stroke(); }
    g.fillStyle = "#f3efe6"; g.strokeStyle = "#b9b2a3"; g.lineWidth = 0.7;
    land.forEach(function (ring) {
      g.beginPath();
      ring.forEach(function (p, i) { var q = px(p[0], p[1]); if (i) g.lineTo(q[0], q[1]); else g.moveTo(q[0], q[1]); });
      g.closePath(); g.fill(); g.stroke();
    });
    markers = [];
    var order = { ok: 0, no_data: 1, warning: 2, critical: 3 };
    var list = C.filter(function (c) { return c.lat != null && c.lon != null; });
    list.sort(function (a, b) { return order[a.state] - order[b.state]; });
    var r = list.length > 2000 ? 2.2 : 4;
    list.forEach(function (c) {
      var q = px(c.lon, c.lat);
      g.beginPath(); g.arc(q[0], q[1], c.state === "ok" ? r : r + 1.5, 0, 2 * Math.PI);
      g.fillStyle = STATE[c.state]; g.fill();
      g.lineWidth = 0.8; g.strokeStyle = "rgba(255,255,255,.9)"; g.stroke();
      markers.push([q[0], q[1], c.i]);
    });
    drawn.markers = markers.length;
  }
  function nearest(ev) {
    var rect = $("map").getBoundingClientRect(), x = ev.clientX - rect.left, y = ev.clientY - rect.top, best = null, bd = 81;
    for (var i = markers.length - 1; i >= 0; i--) {
      var dx = markers[i][0] - x, dy = markers[i][1] - y, d = dx * dx + dy * dy;
      if (d < bd) { bd = d; best = markers[i]; }
    }
    return best;
  }
  function mapEvents() {
    var cv = $("map"), tip = $("maptip");
    cv.onclick = function (ev) { var m = nearest(ev); if (m) openDrill(m[2], true); };
    cv.onmousemove = function (ev) {
      var m = nearest(ev);
      if (!m) { tip.hidden = true; cv.style.cursor = "crosshair"; return; }
      var c = C[m[2]];
      tip.hidden = false; cv.style.cursor = "pointer";
      tip.textContent = c.id + " · " + (c.product || "?") + " · " + STATE_NAME[c.state] + (c.lastTemp != null ? " · " + c.lastTemp + " °C" : "");
      tip.style.left = (m[0] + 10) + "px"; tip.style.top = (m[1] - 10) + "px";
    };
    cv.onmouseleave = function () { tip.hidden = true; };
    var lg = $("maplegend"), counts = { ok: 0, warning: 0, critical: 0, no_data: 0 };
    C.forEach(function (c) { if (c.lat != null) counts[c.state]++; });
    ["ok", "warning", "critical", "no_data"].forEach(function (s) {
      var sp = h("span", {}, null, lg); h("i", { style: "background:" + STATE[s] }, null, sp);
      sp.appendChild(document.createTextNode(STATE_NAME[s] + " " + counts[s]));
    });
    var missing = C.length - markers.length;
    if (missing) h("span", {}, missing + " without a position", lg);
  }

  // ---- fault timeline ----
  var MAX_TIMELINE_ROWS = 3000;
  function timeline() {
    var box = $("timeline"), rows = [];
    for (var ci in byContainer) {
      var g = byContainer[ci], first = Infinity;
      g.episodes.forEach(function (e) { first = Math.min(first, e[3]); });
      g.truth.forEach(function (e) { first = Math.min(first, e[2]); });
      g.alerts.forEach(function (a) { first = Math.min(first, a[5]); });
      rows.push([+ci, first]);
    }
    rows.sort(function (a, b) { return a[1] - b[1] || a[0] - b[0]; });
    if (!rows.length) { h("p", { "class": "note" }, "No fault episode or alert in the input.", box); return; }
    var shown = rows.slice(0, MAX_TIMELINE_ROWS);
    var W = Math.max(600, box.clientWidth || 1000), L = 120, R = 12, RH = 16, TOP = 22, H = TOP + shown.length * RH + 4;
    var x0 = D.from, x1 = Math.max(D.to, D.from + 1);
    function x(t) { return L + (Math.min(Math.max(t, x0), x1) - x0) / (x1 - x0) * (W - L - R); }
    var s = svg("svg", { width: W, height: H }, box);
    var ax = svg("g", { "class": "axis" }, s);
    ticks(x0, x1, 8).forEach(function (t) {
      svg("line", { x1: x(t), x2: x(t), y1: TOP - 4, y2: H, "class": "grid" }, ax);
      svg("text", { x: x(t), y: 12, "text-anchor": "middle" }, ax).textContent = tickLabel(t, x1 - x0);
    });
    shown.forEach(function (r, i) {
      var ci = r[0], g = byContainer[ci], y = TOP + i * RH;
      if (i % 2) svg("rect", { x: 0, y: y, width: W, height: RH, fill: "#fafbfc" }, s);
      var name = svg("text", { x: 2, y: y + 12, "class": "name" }, s);
      name.textContent = C[ci].id;
      name.addEventListener("click", function () { openDrill(ci, true); });
      g.truth.forEach(function (e) {
        svg("rect", { x: x(e[2]), y: y + RH - 4, width: Math.max(2, x(e[3] == null ? x1 : e[3]) - x(e[2])), height: 2, fill: "#111", opacity: 0.45, "class": "truth" }, s);
        drawn.truth++;
      });
      g.episodes.forEach(function (e) {
        var end = e[5] == null ? x1 : e[5];
        var rect = svg("rect", { x: x(e[3]), y: y + 2, width: Math.max(3, x(end) - x(e[3])), height: RH - 7, rx: 2,
          fill: faultColor(e[1]), opacity: e[2] === "critical" ? 0.95 : 0.6, "class": "ep" }, s);
        svg("title", {}, rect).textContent = D.faults[e[1]] + " (" + e[2] + ") " + time(e[3]) + " – " + (e[5] == null ? "open" : time(e[5])) + (e[6] ? "\n" + e[6] : "");
        drawn.episodes++;
      });
      g.alerts.forEach(function (a) {
        var ax_ = x(a[6]);
        var m = svg("path", { d: "M" + ax_ + "," + (y + 1) + " l4,-0 l-4,7 l-4,-7 z", fill: a[3] === "critical" ? "#7f1d1d" : "#92400e", "class": "alert-mark" }, s);
        svg("title", {}, m).textContent = "alert #" + a[0] + ": " + D.faults[a[2]] + " " + a[3] + (a[4] ? " (open)" : " (resolved)");
      });
    });
    drawn.rows = shown.length;
    if (rows.length > shown.length) h("p", { "class": "note" }, (rows.length - shown.length) + " more containers with episodes are not drawn; find them with the search box.", box);
    var lg = $("faultlegend");
    D.faults.forEach(function (f, i) { var sp = h("span", {}, null, lg); h("i", { "class": "sq", style: "background:" + faultColor(i) }, null, sp); sp.appendChild(document.createTextNode(f)); });
    if (D.truth.length) { var sp = h("span", {}, null, lg); h("i", { "class": "sq", style: "background:#111;opacity:.45;height:3px" }, null, sp); sp.appendChild(document.createTextNode("simulator label")); }
  }
  function ticks(a, b, n) {
    var span = b - a, steps = [60e3, 300e3, 900e3, 1800e3, 3600e3, 7200e3, 10800e3, 21600e3, 43200e3, 86400e3, 172800e3, 604800e3];
    var step = steps.find(function (s) { return span / s <= n; }) || steps[steps.length - 1];
    var out = [];
    for (var t = Math.ceil(a / step) * step; t <= b; t += step) out.push(t);
    return out;
  }
  function tickLabel(t, span) {
    var iso = new Date(t).toISOString();
    return span > 3 * 86400e3 ? iso.slice(5, 10) : span > 86400e3 ? iso.slice(5, 10) + " " + iso.slice(11, 16) : iso.slice(11, 16);
  }

  // ---- drill-down ----
  var current = null, clipCount = 0;
  function openDrill(ci, scroll) {
    var c = C[ci];
    current = c.id;
    $("search").value = c.id;
    $("matches").textContent = "";
    if (location.hash !== "#c=" + encodeURIComponent(c.id)) history.replaceState(null, "", "#c=" + encodeURIComponent(c.id));
    var info = $("drillinfo"), p = PRODUCTS[c.product] || {};
    info.textContent = "";
    var parts = [["product", (c.product || "?") + (p.name ? " " + p.name : "")], ["state", STATE_NAME[c.state]],
      ["band", p.hi != null ? (p.lo != null ? p.lo + " … " + p.hi : "≤ " + p.hi) + " °C" : "–"], ["set point", c.setpoint != null ? c.setpoint + " °C" : (p.setpoint != null ? p.setpoint + " °C" : "–")],
      ["readings", num(c.readings) + " (" + pct(c.inBand, c.readings) + " in band)"], ["last record", time(c.last)],
      ["position", c.lat != null ? c.lat.toFixed(2) + ", " + c.lon.toFixed(2) : "–"]];
    parts.forEach(function (x, i) { if (i) info.appendChild(document.createTextNode(" · ")); info.appendChild(document.createTextNode(x[0] + " ")); h("b", {}, x[1], info); });
    charts(c, p);
    if (scroll) $("drill").scrollIntoView({ behavior: "smooth", block: "start" });
  }
  function charts(c, p) {
    var box = $("charts");
    box.textContent = "";
    var s = c.n ? decode(c) : {};
    var g = byContainer[c.i] || { episodes: [], truth: [], alerts: [] };
    var t0 = Math.min(D.from, c.start), t1 = Math.max(D.to, c.start + c.n * c.width);
    var times = [];
    for (var i = 0; i < c.n; i++) times.push(c.start + (i + 0.5) * c.width);
    var shaded = 0;
    var specs = [
      { title: "Temperature °C", lines: [["temp", "#12304a", "return air (mean)"], ["supply", "#1d8fbf", "supply air"], ["ambient", "#e07b00", "ambient", "4 3", true]],
        envelope: ["temp_min", "temp_max"], band: p, setpoint: c.setpoint != null ? c.setpoint : p.setpoint, marks: true, height: 230 },
      { title: "Power kW", lines: [["kilowatts", "#7b4fd0", "power"]], zero: true, height: 110 },
      { title: "Atmosphere %", lines: [["oxygen", "#0f9d8a", "O₂"], ["carbon_dioxide", "#c2410c", "CO₂"]], zero: true, height: 120 }
    ];
    specs.forEach(function (spec) {
      var div = h("div", { "class": "chart" }, null, box), hd = h("h3", {}, spec.title, div), lg = h("span", { "class": "legend" }, null, hd);
      var vals = [];
      // Ambient air does not set the scale: 30 °C outside would flatten a 2 °C
      // warming inside. It is drawn clipped to the chart instead.
      spec.lines.concat(spec.envelope ? [[spec.envelope[0]], [spec.envelope[1]]] : []).forEach(function (l) { if (!l[4]) (s[l[0]] || []).forEach(function (v) { if (v != null) vals.push(v); }); });
      if (spec.band && spec.band.hi != null) { vals.push(spec.band.hi); if (spec.band.lo != null) vals.push(spec.band.lo); }
      if (spec.setpoint != null) vals.push(spec.setpoint);
      if (spec.zero) vals.push(0);
      if (!vals.length) { h("span", { "class": "note" }, "no values", hd); return; }
      var lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals);
      if (hi - lo < 1) { hi += 0.5; lo -= 0.5; }
      var pad = (hi - lo) * 0.06; lo -= spec.zero && lo >= 0 ? 0 : pad; hi += pad;
      var W = Math.max(600, box.clientWidth || 1000), L = 48, R = 12, T = 6, B = 20, H = spec.height;
      function x(t) { return L + (t - t0) / (t1 - t0 || 1) * (W - L - R); }
      function y(v) { return T + (hi - v) / (hi - lo) * (H - T - B); }
      var sv = svg("svg", { width: W, height: H, "data-chart": spec.title }, div);
      var clipId = "clip" + (++clipCount);
      svg("rect", { x: L, y: T, width: W - L - R, height: H - T - B }, svg("clipPath", { id: clipId }, sv));
      var ax = svg("g", { "class": "axis" }, sv);
      niceTicks(lo, hi, 5).forEach(function (v) {
        svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), "class": "grid" }, ax);
        svg("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, ax).textContent = +v.toFixed(2);
      });
      ticks(t0, t1, 8).forEach(function (t) { if (x(t) < W - R - 16) svg("text", { x: x(t), y: H - 5, "text-anchor": "middle" }, ax).textContent = tickLabel(t, t1 - t0); });
      g.episodes.forEach(function (e) {
        var end = e[5] == null ? t1 : e[5];
        var r = svg("rect", { x: x(e[3]), y: T, width: Math.max(2, x(end) - x(e[3])), height: H - T - B, fill: faultColor(e[1]), opacity: 0.1, "class": "episode-shade", "data-fault": D.faults[e[1]] }, sv);
        svg("title", {}, r).textContent = D.faults[e[1]] + " " + time(e[3]) + " – " + (e[5] == null ? "open" : time(e[5]));
        shaded++;
      });
      g.truth.forEach(function (e) {
        svg("rect", { x: x(e[2]), y: H - B - 3, width: Math.max(2, x(e[3] == null ? t1 : e[3]) - x(e[2])), height: 3, fill: "#111", opacity: 0.35, "class": "truth-shade" }, sv);
      });
      if (spec.band && spec.band.hi != null) {
        var bl = spec.band.lo != null ? spec.band.lo : lo;
        svg("rect", { x: L, y: y(spec.band.hi), width: W - L - R, height: Math.max(1, y(bl) - y(spec.band.hi)), fill: "#2e9d5b", opacity: 0.1, "class": "band" }, sv);
        svg("line", { x1: L, x2: W - R, y1: y(spec.band.hi), y2: y(spec.band.hi), stroke: "#2e9d5b", "stroke-width": 1, opacity: 0.6 }, sv);
        if (spec.band.lo != null) svg("line", { x1: L, x2: W - R, y1: y(spec.band.lo), y2: y(spec.band.lo), stroke: "#2e9d5b", "stroke-width": 1, opacity: 0.6 }, sv);
        legend(lg, "#2e9d5b", "band", true);
      }
      if (spec.setpoint != null) {
        svg("line", { x1: L, x2: W - R, y1: y(spec.setpoint), y2: y(spec.setpoint), stroke: "#12304a", "stroke-dasharray": "6 4", opacity: 0.7, "class": "setpoint" }, sv);
        legend(lg, "#12304a", "set point " + spec.setpoint + " °C");
      }
      if (spec.envelope && s[spec.envelope[0]] && s[spec.envelope[1]]) {
        area(sv, times, s[spec.envelope[0]], s[spec.envelope[1]], x, y);
        legend(lg, "#9fb3c8", "min–max", true);
      }
      spec.lines.forEach(function (l) {
        if (!s[l[0]]) return;
        var clipped = l[4] && s[l[0]].some(function (v) { return v != null && (v > hi || v < lo); });
        line(sv, times, s[l[0]], x, y, l[1], l[3], clipId);
        legend(lg, l[1], l[2] + (clipped ? " (beyond the scale: " + range(s[l[0]]) + ")" : ""));
      });
      if (spec.marks && s.marks) {
        s.marks.forEach(function (m, i) {
          if (!m) return;
          if (m & 1) svg("rect", { x: x(times[i]) - 1.5, y: H - B - 10, width: 3, height: 7, fill: "#e3a008", "class": "door-mark" }, sv);
          if (m & 2) svg("rect", { x: x(times[i]) - 1.5, y: H - B - 18, width: 3, height: 7, fill: "#06b6d4", "class": "defrost-mark" }, sv);
        });
        legend(lg, "#e3a008", "door open", true); legend(lg, "#06b6d4", "defrost", true);
      }
      if (g.episodes.length) legend(lg, faultColor(g.episodes[0][1]), "fault episode", true);
    });
    // How much the return air rose during the container's first episode: what
    // a power cut or a failed compressor looks like, and what a test can check.
    var rise = null;
    if (g.episodes.length && s.temp) {
      var ep = g.episodes[0], until = ep[5] == null ? t1 : ep[5], first = null, top = -Infinity;
      for (var b = 0; b < c.n; b++) {
        if (times[b] < ep[3] || times[b] > until || s.temp[b] == null) continue;
        if (first == null) first = s.temp[b];
        top = Math.max(top, s.temp[b]);
      }
      if (first != null) rise = top - first;
    }
    drawn.drill = c.id; drawn.shaded = shaded; drawn.points = c.n; drawn.rise = rise == null ? null : rise.toFixed(1);
    note();
  }
  function legend(lg, color, text, square) {
    var sp = h("span", {}, null, lg);
    h("i", { "class": square ? "sq" : "", style: "background:" + color }, null, sp);
    sp.appendChild(document.createTextNode(text));
  }
  function range(v) {
    var a = Infinity, b = -Infinity;
    v.forEach(function (x) { if (x != null) { a = Math.min(a, x); b = Math.max(b, x); } });
    return a.toFixed(1) + " … " + b.toFixed(1) + " °C";
  }
  function line(sv, times, v, x, y, color, dash, clipId) {
    var d = "", pen = false;
    for (var i = 0; i < v.length; i++) {
      if (v[i] == null) { pen = false; continue; }
      d += (pen ? "L" : "M") + x(times[i]).toFixed(1) + "," + y(v[i]).toFixed(1);
      pen = true;
    }
    var a = { d: d, fill: "none", stroke: color, "stroke-width": 1.6, "stroke-linejoin": "round" };
    if (dash) a["stroke-dasharray"] = dash;
    if (clipId) a["clip-path"] = "url(#" + clipId + ")";
    svg("path", a, sv);
  }
  function area(sv, times, lo, hi, x, y) {
    var i = 0;
    while (i < lo.length) {
      while (i < lo.length && (lo[i] == null || hi[i] == null)) i++;
      var j = i;
      while (j < lo.length && lo[j] != null && hi[j] != null) j++;
      if (j > i) {
        var d = "";
        for (var k = i; k < j; k++) d += (k === i ? "M" : "L") + x(times[k]).toFixed(1) + "," + y(hi[k]).toFixed(1);
        for (var k2 = j - 1; k2 >= i; k2--) d += "L" + x(times[k2]).toFixed(1) + "," + y(lo[k2]).toFixed(1);
        svg("path", { d: d + "Z", fill: "#9fb3c8", opacity: 0.45 }, sv);
      }
      i = j;
    }
  }
  function niceTicks(lo, hi, n) {
    var raw = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(raw))), step = [1, 2, 5, 10].map(function (m) { return m * mag; }).find(function (s) { return s >= raw; });
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi; v += step) out.push(Math.abs(v) < 1e-9 ? 0 : v);
    return out;
  }
  function search() {
    var q = $("search"), m = $("matches"), ids = {};
    C.forEach(function (c) { ids[c.id.toUpperCase()] = c.i; });
    function find(text) {
      var t = text.trim().toUpperCase(), out = [];
      if (!t) return out;
      for (var i = 0; i < C.length && out.length < 12; i++) if (C[i].id.toUpperCase().indexOf(t) >= 0) out.push(i);
      return out;
    }
    q.oninput = function () {
      m.textContent = "";
      var t = q.value.trim().toUpperCase();
      if (ids[t] != null) { openDrill(ids[t]); return; }
      var found = find(q.value);
      found.forEach(function (i) { var b = h("button", { type: "button" }, C[i].id, m); b.addEventListener("click", function () { openDrill(i); }); });
      if (q.value.trim() && !found.length) h("span", { "class": "note" }, "no container matches", m);
    };
    q.onkeydown = function (ev) { if (ev.key === "Enter") { var f = find(q.value); if (f.length) openDrill(f[0]); } };
    window.onhashchange = fromHash;
  }
  function fromHash(ev) {
    var m = /^#c=(.+)$/.exec(location.hash);
    if (!m) return false;
    var id = decodeURIComponent(m[1]);
    for (var i = 0; i < C.length; i++) if (C[i].id === id) {
      // Opened on a container's address (a link in a ticket): its drill-down comes first.
      if (!ev) { var main = document.querySelector("main"); main.insertBefore($("drill"), main.firstChild); }
      if (current !== C[i].id) openDrill(i, !!ev);
      return true;
    }
    return false;
  }

  // ---- alerts table ----
  var MAX_TABLE_ROWS = 2000;
  function table() {
    var fromAlerts = D.alerts.length > 0;
    $("alertstitle").textContent = fromAlerts ? "Alerts (" + D.alerts.length + ")" : "Fault episodes (" + D.episodes.length + ", from fault events; --alerts DB shows reefer-act's alerts)";
    var rows = fromAlerts
      ? D.alerts.map(function (a) { return { ci: a[1], fault: D.faults[a[2]] || "?", sev: a[3], open: a[4], since: a[5], at: a[6], end: a[7], n: a[8], msg: a[9], id: a[0] }; })
      : D.episodes.map(function (e) { return { ci: e[0], fault: D.faults[e[1]], sev: e[2], open: e[5] == null, since: e[3], at: e[4], end: e[5], n: null, msg: e[6] }; });
    rows.forEach(function (r) { r.container = r.ci == null ? "" : C[r.ci].id; r.duration = (r.end != null ? r.end : D.to) - r.since; r.status = r.open ? "open" : "resolved"; });
    var cols = [["container", "container"], ["fault", "fault"], ["sev", "severity"], ["status", "status"], ["since", "since"], ["at", fromAlerts ? "opened" : "detected"],
      ["end", "resolved"], ["duration", "duration"], ["n", "events"], ["msg", "message"]];
    if (!fromAlerts) cols.splice(8, 1);
    var box = $("alerttable");
    if (!rows.length) { h("p", { "class": "note" }, "Nothing to list: no alerts and no fault events.", box); return; }
    var sortKey = "at", asc = false;
    var t = h("table", {}, null, box), hr = h("tr", {}, null, h("thead", {}, null, t)), tb = h("tbody", {}, null, t);
    var ths = cols.map(function (c) {
      var th = h("th", { "data-key": c[0], "class": c[0] === "n" || c[0] === "duration" ? "num" : "" }, c[1], hr);
      th.addEventListener("click", function () { asc = sortKey === c[0] ? !asc : true; sortKey = c[0]; render(); });
      return th;
    });
    var more = h("p", { "class": "note" }, "", box);
    function render() {
      rows.sort(function (a, b) {
        var x = a[sortKey], y = b[sortKey];
        if (x == null) x = asc ? Infinity : -Infinity;
        if (y == null) y = asc ? Infinity : -Infinity;
        return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
      });
      ths.forEach(function (th) { th.className = (th.className.replace(/ ?sorted| ?asc/g, "")) + (th.getAttribute("data-key") === sortKey ? " sorted" + (asc ? " asc" : "") : ""); });
      tb.textContent = "";
      var shown = rows.slice(0, MAX_TABLE_ROWS);
      shown.forEach(function (r) {
        var tr = h("tr", { "class": "alert-row" }, null, tb), td = h("td", {}, null, tr);
        var a = h("a", { "class": "c", href: "#c=" + encodeURIComponent(r.container) }, r.container, td);
        a.addEventListener("click", function (ev) { ev.preventDefault(); if (r.ci != null) openDrill(r.ci, true); });
        h("td", {}, r.fault, tr);
        h("span", { "class": "sev " + r.sev }, r.sev, h("td", {}, null, tr));
        h("td", { "class": r.open ? "st-open" : "" }, r.status, tr);
        h("td", {}, time(r.since), tr); h("td", {}, time(r.at), tr); h("td", {}, time(r.end), tr);
        h("td", { "class": "num" }, dur(r.duration), tr);
        if (fromAlerts) h("td", { "class": "num" }, r.n == null ? "" : String(r.n), tr);
        h("td", {}, r.msg || "", tr);
      });
      more.textContent = rows.length > shown.length ? "The first " + shown.length + " of " + rows.length + " rows; sort by another column to see others." : "";
      drawn.alerts = shown.length;
      note();
    }
    render();
  }

  function finish() {
    drawn.containers = C.length;
    drawn.ms = Math.round(performance.now() - started);
    note();
    $("drawn").setAttribute("data-ready", "1");
  }

  function step(name, f) { try { f(); } catch (e) { errors.push(name + ": " + e); consoleError.call(console, e); note(); } }
  function indexOf(id) { for (var i = 0; i < C.length; i++) if (C[i].id === id) return i; return -1; }
  function draw(data) {
    started = performance.now();
    step("data", function () { load(data); });
    FILLED.forEach(function (id) { $(id).textContent = ""; });
    $("title").textContent = D.title;
    document.title = D.title;
    $("range").textContent = (D.from != null ? time(D.from) + " – " + time(D.to) : "") + (D.live ? " · live" : "");
    $("nodata").hidden = C.length > 0;
    SECTIONS.forEach(function (id) { $(id).hidden = !C.length; });
    if (!C.length) { drawn.nodata = 1; finish(); return; }
    step("cards", cards); step("bands", bands); step("alert kinds", alertKinds); step("delays", delays);
    step("map", function () { drawMap(); mapEvents(); });
    step("timeline", timeline);
    step("search", search);
    step("drill-down", function () {
      // A live update keeps the container on screen; a first load takes the
      // address's, else the worst one.
      var keep = current != null ? indexOf(current) : -1;
      if (keep >= 0) { openDrill(keep, false); return; }
      if (fromHash()) return;
      var pick = 0, worst = -1, rank = { ok: 0, no_data: 1, warning: 2, critical: 3 };
      C.forEach(function (c) { var r = rank[c.state] + (byContainer[c.i] ? 0.5 : 0); if (r > worst) { worst = r; pick = c.i; } });
      openDrill(pick, false);
    });
    step("table", table);
    finish();
  }
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      var i = current != null ? indexOf(current) : -1;
      step("map", drawMap);
      if (i >= 0) step("drill-down", function () { charts(C[i], PRODUCTS[C[i].product] || {}); });
    }, 150);
  });
  var first = JSON.parse(document.getElementById("data").textContent);
  draw(first);
  if (first.live && window.EventSource) {
    // --serve: the server sends the page's data again whenever something new came in.
    var updates = 0, source = new EventSource("events");
    source.onmessage = function (m) { updates++; $("drawn").setAttribute("data-updates", String(updates)); draw(JSON.parse(m.data)); };
  }
})();
