// wasmesh UI: the service graph, the status page and traces, read from the control plane's
// JSON API. Plain JavaScript, no dependencies (docs/observability.md).
"use strict";

const REFRESH_MS = 2000;
const SVGNS = "http://www.w3.org/2000/svg";
const state = { window: localStorage.getItem("wasmesh.window") || "1m", selected: null, timer: null, graph: null };

// ---- token and API -------------------------------------------------------------------------

function takeTokenFromURL() {
  const m = /^#token=([^&]+)/.exec(location.hash);
  if (m) {
    localStorage.setItem("wasmesh.token", decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + "#/graph");
  }
}

async function api(path) {
  const token = localStorage.getItem("wasmesh.token") || "";
  const res = await fetch(path, { headers: { Authorization: "Bearer " + token } });
  if (res.status === 401) {
    showLogin("");
    throw new Error("unauthorized");
  }
  const body = await res.json();
  if (!res.ok) throw new Error((body.errors || [res.statusText]).join("\n"));
  return body;
}

function showLogin(msg) {
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = msg;
}

document.getElementById("login-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  localStorage.setItem("wasmesh.token", document.getElementById("login-token").value.trim());
  document.getElementById("login").hidden = true;
  route();
});

// ---- DOM helpers ---------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "style") e.style.cssText = v; // CSSOM: allowed by the page's CSP
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function svg(tag, attrs, ...children) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function pill(cls, text) { return el("span", { class: "pill " + cls }, text || cls); }
function fmt(n, digits) { return Number(n).toFixed(digits === undefined ? 1 : digits); }
function ms(v) { return v < 0 ? "–" : (v >= 100 ? fmt(v, 0) : fmt(v, 1)) + "ms"; }
function keyText(k) { return k.kind + "/" + (k.namespace && k.namespace !== "default" ? k.namespace + "/" : "") + k.name; }
function resourceLink(k) {
  return el("a", { href: "#/resource/" + encodeURIComponent(k.kind) + "/" + encodeURIComponent(k.name) + "?namespace=" + encodeURIComponent(k.namespace || "default") }, keyText(k));
}

function setMain(...children) {
  const m = document.getElementById("main");
  m.replaceChildren(...children.filter((c) => c !== null && c !== undefined));
}

function updated(text) { document.getElementById("updated").textContent = text; }

// ---- router --------------------------------------------------------------------------------

function route() {
  clearInterval(state.timer);
  state.timer = null;
  const h = location.hash || "#/graph";
  for (const n of ["graph", "status", "traces"]) {
    document.getElementById("nav-" + n).classList.toggle("active", h.startsWith("#/" + n));
  }
  let m;
  if ((m = /^#\/traces\/([0-9a-fA-F]+)/.exec(h))) return showTrace(m[1]);
  if (h.startsWith("#/traces")) return every(showTraces);
  if (h.startsWith("#/status")) return every(showStatus);
  if ((m = /^#\/resource\/([^/]+)\/([^?]+)(?:\?namespace=(.*))?/.exec(h))) return showResource(m[1], m[2], m[3]);
  return showGraphPage();
}

function every(fn) {
  fn();
  state.timer = setInterval(fn, REFRESH_MS);
}

window.addEventListener("hashchange", route);

// ---- graph ---------------------------------------------------------------------------------

function showGraphPage() {
  const select = el("select", { id: "window", onchange: (ev) => { state.window = ev.target.value; localStorage.setItem("wasmesh.window", state.window); refreshGraph(); } },
    ["10s", "30s", "1m", "5m"].map((w) => { const o = el("option", { value: w }, "last " + w); if (w === state.window) o.selected = true; return o; }));
  const legend = el("span", { class: "legend muted" },
    el("span", {}, el("i", { style: "background:var(--ok)" }), "healthy"),
    el("span", {}, el("i", { style: "background:var(--degraded)" }), "5xx ≥ 0.1%"),
    el("span", {}, el("i", { style: "background:var(--failing)" }), "5xx > 10%"),
    el("span", {}, el("i", { style: "background:var(--idle)" }), "no traffic"));
  const box = svg("svg", { id: "graph-svg", width: "100%", height: "460" });
  const panel = el("aside", { id: "panel" }, el("p", { class: "muted" }, "Click a service version or an edge."));
  setMain(el("div", { class: "toolbar" }, select, legend, el("span", { id: "problems", class: "error" })), el("div", { class: "layout" }, box, panel));
  every(refreshGraph);
}

async function refreshGraph() {
  let g;
  try {
    g = await api("/api/v1/graph?window=" + encodeURIComponent(state.window));
  } catch (e) {
    const p = document.getElementById("problems");
    if (p) p.textContent = e.message;
    return;
  }
  state.graph = g;
  document.getElementById("source").textContent = "metrics: " + g.source;
  updated("updated " + new Date(g.generated).toLocaleTimeString());
  const p = document.getElementById("problems");
  if (p) p.textContent = (g.problems || []).join("; ");
  drawGraph(g);
  if (state.selected) showSelection(g);
}

// layout puts the nodes in columns by call depth (a caller left of its callees) and, within
// a column, by service then version.
function layout(g) {
  const incoming = {}, outgoing = {};
  for (const n of g.nodes) { incoming[n.id] = []; outgoing[n.id] = []; }
  for (const e of g.edges) { outgoing[e.from].push(e.to); incoming[e.to].push(e.from); }
  const depth = {};
  const visit = (id, d, seen) => {
    if (seen.has(id)) return;
    if (depth[id] === undefined || depth[id] < d) depth[id] = d;
    seen.add(id);
    for (const t of outgoing[id]) visit(t, d + 1, seen);
    seen.delete(id);
  };
  for (const n of g.nodes) if (incoming[n.id].length === 0) visit(n.id, 0, new Set());
  for (const n of g.nodes) if (depth[n.id] === undefined) depth[n.id] = 0;
  const cols = {};
  for (const n of g.nodes) (cols[depth[n.id]] = cols[depth[n.id]] || []).push(n);
  const pos = {};
  const colW = 440, rowH = 110, top = 30, left = 20;
  let height = 0;
  for (const [d, ns] of Object.entries(cols)) {
    ns.sort((a, b) => a.id.localeCompare(b.id));
    ns.forEach((n, i) => { pos[n.id] = { x: left + Number(d) * colW, y: top + i * rowH }; });
    height = Math.max(height, top + ns.length * rowH);
  }
  return { pos, width: left + (Object.keys(cols).length - 1) * colW + NODE_W + 20, height: Math.max(height + 20, 300) };
}

const NODE_W = 200, NODE_H = 46;
const COLORS = { ok: "#3f9c35", degraded: "#ec7a08", failing: "#c9190b", idle: "#8a8d90" };

function drawGraph(g) {
  const box = document.getElementById("graph-svg");
  if (!box) return;
  const { pos, width, height } = layout(g);
  box.setAttribute("viewBox", "0 0 " + Math.max(width, 600) + " " + height);
  box.setAttribute("height", String(Math.max(height, 420)));
  const defs = svg("defs", {}, ["ok", "degraded", "failing", "idle"].map((h) =>
    svg("marker", { id: "arrow-" + h, viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" },
      svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: COLORS[h] }))));
  const edges = g.edges.map((e) => {
    const a = pos[e.from], b = pos[e.to];
    const x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2, x2 = b.x, y2 = b.y + NODE_H / 2;
    const mx = (x1 + x2) / 2;
    const d = "M" + x1 + "," + y1 + " C" + mx + "," + y1 + " " + mx + "," + y2 + " " + x2 + "," + y2;
    const marker = e.health === "healthy" ? "ok" : e.health;
    const label = fmt(e.rps, 1) + " rps · " + fmt(e.errorPercent, 1) + "% 5xx · p99 " + ms(e.p99Ms);
    // The curve's midpoint is (mx, (y1+y2)/2): the labels sit there.
    const lx = mx, ly = (y1 + y2) / 2;
    const extra = [];
    if (e.weight !== undefined) extra.push(svg("text", { x: x2 - 8, y: y2 - 8, "text-anchor": "end", class: "weight" }, e.weight + "%"));
    if (e.faults && e.faults.length) extra.push(svg("text", { x: lx, y: ly + 14, "text-anchor": "middle", class: "fault" }, "⚡ " + e.faults.join("; ")));
    if (e.mtls) extra.push(svg("text", { x: lx, y: ly - 16, "text-anchor": "middle", class: "lock" }, "🔒"));
    return svg("g", {
      class: "edge " + e.health + (state.selected === "edge:" + e.id ? " selected" : ""),
      "data-id": e.id, "data-health": e.health, "data-rps": String(e.rps), "data-error-rate": String(e.errorRate), "data-mtls": String(!!e.mtls),
      onclick: () => { state.selected = "edge:" + e.id; showSelection(state.graph); drawGraph(state.graph); },
    }, svg("path", { class: "hit", d }), svg("path", { class: "line", d, "marker-end": "url(#arrow-" + marker + ")" }),
    svg("text", { x: lx, y: ly - 2, "text-anchor": "middle" }, label), extra);
  });
  const nodes = g.nodes.map((n) => {
    const p = pos[n.id];
    const acked = n.sidecars.filter((s) => s.acked).length;
    return svg("g", {
      class: "node " + n.health + (state.selected === "node:" + n.id ? " selected" : ""),
      "data-id": n.id, "data-health": n.health, transform: "translate(" + p.x + "," + p.y + ")",
      onclick: () => { state.selected = "node:" + n.id; showSelection(state.graph); drawGraph(state.graph); },
    }, svg("rect", { width: NODE_W, height: NODE_H, rx: 6 }),
    svg("text", { x: 10, y: 19 }, n.service + " " + n.version),
    svg("text", { x: 10, y: 36, class: "sub" }, (n.rps > 0 ? fmt(n.rps, 1) + " rps in · " : "") + acked + "/" + n.sidecars.length + " sidecars ACKed"));
  });
  box.replaceChildren(defs, ...edges, ...nodes);
}

function sidecarList(sidecars) {
  if (!sidecars.length) return el("p", { class: "muted" }, "no sidecar");
  return el("ul", {}, sidecars.map((s) => el("li", {}, el("span", { class: "mono" }, s.id), " ",
    !s.connected ? pill("disconnected") : s.acked ? pill("acked", "ACK") : s.errors && s.errors.length ? pill("nacked", "NACK") : pill("pending"),
    (s.errors || []).map((e) => el("div", { class: "error mono" }, e)))));
}

function showSelection(g) {
  const panel = document.getElementById("panel");
  if (!panel || !state.selected) return;
  const [kind, id] = [state.selected.slice(0, 4), state.selected.slice(5)];
  if (kind === "node") {
    const n = g.nodes.find((x) => x.id === id);
    if (!n) return;
    panel.replaceChildren(el("h3", {}, n.service + " " + n.version, " ", pill(n.health)),
      el("p", {}, fmt(n.rps, 2) + " rps received, " + fmt(n.errorRate * 100, 2) + "% 5xx"),
      el("h4", {}, "Sidecars"), sidecarList(n.sidecars),
      el("h4", {}, "Resources that shape it"), el("ul", {}, n.resources.map((k) => el("li", {}, resourceLink(k)))),
      el("p", {}, el("a", { href: "#/traces?service=" + encodeURIComponent(n.service) }, "Traces through " + n.service)));
    return;
  }
  const e = g.edges.find((x) => x.id === id);
  if (!e) return;
  const from = g.nodes.find((x) => x.id === e.from), to = g.nodes.find((x) => x.id === e.to);
  panel.replaceChildren(el("h3", {}, e.from + " → " + e.to, " ", pill(e.health)),
    el("table", {}, el("tbody", {},
      el("tr", {}, el("th", {}, "requests/s"), el("td", {}, fmt(e.rps, 2))),
      el("tr", {}, el("th", {}, "5xx"), el("td", {}, fmt(e.errorPercent, 2) + "%")),
      el("tr", {}, el("th", {}, "p50 / p99"), el("td", {}, ms(e.p50Ms) + " / " + ms(e.p99Ms))),
      el("tr", {}, el("th", {}, "canary weight"), el("td", {}, e.weight === undefined ? "–" : e.weight + "%")),
      el("tr", {}, el("th", {}, "faults"), el("td", {}, (e.faults || []).join("; ") || "–")),
      el("tr", {}, el("th", {}, "mTLS"), el("td", {}, e.mtls ? "🔒 yes" : "no")))),
    el("h4", {}, "Resources that shape it"), el("ul", {}, e.resources.map((k) => el("li", {}, resourceLink(k)))),
    el("h4", {}, "Caller's sidecars"), sidecarList(from ? from.sidecars : []),
    el("h4", {}, "Callee's sidecars"), sidecarList(to ? to.sidecars : []),
    el("p", {}, el("a", { id: "edge-traces", href: "#/traces?service=" + encodeURIComponent(e.source.service) + "&service=" + encodeURIComponent(e.destination.service) }, "Traces on this edge")));
}

// ---- resource ------------------------------------------------------------------------------

async function showResource(kind, name, ns) {
  try {
    const r = await api("/api/v1/resources/" + kind + "/" + name + "?namespace=" + (ns || "default"));
    setMain(el("h2", {}, decodeURIComponent(kind) + " " + decodeURIComponent(name)), el("pre", { class: "mono" }, JSON.stringify(r, null, 2)));
  } catch (e) {
    setMain(el("p", { class: "error" }, e.message));
  }
}

// ---- status --------------------------------------------------------------------------------

async function showStatus() {
  let st;
  try {
    st = await api("/api/v1/status");
  } catch (e) {
    setMain(el("p", { class: "error" }, e.message));
    return;
  }
  updated("updated " + new Date().toLocaleTimeString() + " · store revision " + st.revision);
  const nodeRows = st.nodes.map((n) => {
    const sc = sidecarState(n);
    return el("tr", { class: "sidecar", "data-node": n.id, "data-state": sc.state },
      el("td", { class: "mono" }, n.id), el("td", {}, (n.service || "") + " " + (n.version || "")),
      el("td", {}, pill(sc.state, sc.state.toUpperCase()), n.error ? el("div", { class: "error" }, n.error) : null),
      el("td", {}, n.types.map((t) => el("div", { class: "mono" }, t.type + " " + (t.acked || "–") + (t.pending ? " (sent " + t.sent + ", pending)" : ""),
        t.nack ? el("div", { class: "error" }, "NACK of " + t.nackVersion + ": " + t.nack) : null))),
      el("td", {}, (n.modules || []).map((m) => el("div", { class: "mono", title: m.sha256 }, m.config + " " + m.sha256.slice(0, 12) + "…"))),
      el("td", {}, (n.plugins || []).map((p) => el("div", { class: "error" }, p.plugin + ": " + p.summary))),
      el("td", { class: "muted" }, n.lastSeen ? new Date(n.lastSeen).toLocaleTimeString() : ""));
  });
  const resRows = st.resources.map((r) => el("tr", { class: "resource", "data-key": keyText(r.key) },
    el("td", {}, resourceLink(r.key)), el("td", {}, r.generation),
    el("td", {}, (r.nodes || []).map((n) => el("div", {}, el("span", { class: "mono" }, n.node), " ", pill(n.state), n.error ? el("div", { class: "error" }, n.error) : null)))));
  const services = (st.services || []).map((s) => el("tr", {}, el("td", {}, s.service),
    el("td", {}, (s.ejected || []).map((e) => el("div", {}, e.version + " " + e.address + " (" + e.reason + ", by " + e.caller + ")"))),
    el("td", {}, Object.entries(s.overflows || {}).map(([v, n]) => el("div", {}, v + ": " + n)))));
  setMain(
    el("h2", {}, "Sidecars"),
    el("table", { id: "sidecars" }, el("thead", {}, el("tr", {}, ["node", "service", "state", "config versions (xDS)", "filter modules (sha256)", "plugin health", "last seen"].map((h) => el("th", {}, h)))), el("tbody", {}, nodeRows)),
    el("h2", {}, "Resources"),
    el("table", { id: "resources" }, el("thead", {}, el("tr", {}, ["resource", "generation", "applied on"].map((h) => el("th", {}, h)))), el("tbody", {}, resRows)),
    services.length ? el("h2", {}, "Endpoints") : null,
    services.length ? el("table", {}, el("thead", {}, el("tr", {}, ["service", "ejected", "circuit-breaker overflows"].map((h) => el("th", {}, h)))), el("tbody", {}, services)) : null,
    (st.statsErrors || []).length ? el("p", { class: "error" }, st.statsErrors.join("\n")) : null);
}

function sidecarState(n) {
  if (!n.connected) return { state: "disconnected" };
  if (n.types.some((t) => t.nack)) return { state: "nacked" };
  if (!n.types.length || n.types.some((t) => t.pending || !t.acked || t.acked !== t.sent)) return { state: "pending" };
  return { state: "acked" };
}

// ---- traces --------------------------------------------------------------------------------

async function showTraces() {
  const q = new URLSearchParams((location.hash.split("?")[1]) || "");
  const services = q.getAll("service");
  let r;
  try {
    r = await api("/api/v1/traces?" + services.map((s) => "service=" + encodeURIComponent(s)).join("&"));
  } catch (e) {
    setMain(el("p", { class: "error" }, e.message));
    return;
  }
  updated("updated " + new Date().toLocaleTimeString() + " · " + r.stats.traces + " traces kept");
  const rows = r.traces.map((t) => el("tr", { class: "trace", "data-trace": t.traceId, "data-sidecars": String(t.sidecars.length) },
    el("td", {}, new Date(t.start).toLocaleTimeString()),
    el("td", {}, el("a", { href: "#/traces/" + t.traceId, class: "mono" }, t.traceId.slice(0, 16))),
    el("td", {}, t.root), el("td", {}, fmt(t.durationMs, 1) + "ms"), el("td", {}, t.spans),
    el("td", {}, t.services.join(", ")), el("td", {}, t.sidecars.length),
    el("td", {}, t.error ? pill("failing", "error") : "")));
  setMain(el("h2", {}, "Traces", services.length ? " through " + services.join(" and ") : ""),
    el("p", { class: "muted" }, "The last traces the sidecars' Envoy tracers sent (Telemetry spec.tracing.provider)."),
    el("table", { id: "traces" }, el("thead", {}, el("tr", {}, ["start", "trace", "root", "duration", "spans", "services", "sidecars", ""].map((h) => el("th", {}, h)))), el("tbody", {}, rows)));
}

async function showTrace(id) {
  let r;
  try {
    r = await api("/api/v1/traces/" + id);
  } catch (e) {
    setMain(el("p", { class: "error" }, e.message));
    return;
  }
  const spans = r.spans;
  const start = Math.min(...spans.map((s) => s.timestamp));
  const end = Math.max(...spans.map((s) => s.timestamp + (s.duration || 0)));
  const total = Math.max(end - start, 1);
  // Depth from parent links (a shared client/server span id keeps its parent's depth + 1).
  const byId = {};
  for (const s of spans) (byId[s.id] = byId[s.id] || []).push(s);
  const depth = (s, guard) => {
    if (!s.parentId || !byId[s.parentId] || guard > 32) return 0;
    return 1 + depth(byId[s.parentId][0], guard + 1);
  };
  const rows = spans.map((s) => {
    const tags = s.tags || {};
    const err = tags.error || (tags["http.status_code"] || "").startsWith("5");
    const left = ((s.timestamp - start) / total) * 100, width = Math.max(((s.duration || 0) / total) * 100, 0.3);
    const svc = (s.localEndpoint && s.localEndpoint.serviceName) || "?";
    return el("div", { class: "row span", "data-node": tags.node_id || "", title: Object.entries(tags).map(([k, v]) => k + "=" + v).join("\n") },
      el("div", { class: "label", style: "padding-left:" + (6 + 14 * depth(s, 0)) + "px" },
        el("b", {}, svc), " ", el("span", { class: "mono muted" }, tags.node_id || ""), " ", (s.kind || "").toLowerCase(), " ", s.name || "",
        tags["http.status_code"] ? " → " + tags["http.status_code"] : ""),
      el("div", { class: "track" }, el("div", { class: "bar " + (s.kind === "SERVER" ? "server" : "") + (err ? " err" : ""), style: "left:" + left + "%;width:" + width + "%" }),
        el("div", { class: "dur", style: "left:calc(" + Math.min(left + width, 92) + "% + 4px)" }, fmt((s.duration || 0) / 1000, 2) + "ms")));
  });
  const nodes = [...new Set(spans.map((s) => (s.tags || {}).node_id).filter(Boolean))];
  setMain(el("h2", {}, "Trace ", el("span", { class: "mono" }, id)),
    el("p", {}, spans.length + " spans from " + nodes.length + " sidecars (" + nodes.join(", ") + "), " + fmt(total / 1000, 2) + "ms. ", el("a", { href: "#/traces" }, "All traces")),
    el("div", { class: "wf", id: "waterfall" }, rows));
}

// ---- start ---------------------------------------------------------------------------------

takeTokenFromURL();
if (!localStorage.getItem("wasmesh.token")) showLogin("");
route();
