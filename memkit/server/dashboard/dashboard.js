// memkit dashboard: polls /dashboard/api and draws the page. Hand-written, no libraries.
// Every value from the store is user text: it goes into the DOM as text nodes only
// (textContent, setAttribute), never as markup.
"use strict";
(function () {
  const POLL_MS = 3000;
  const SVG = "http://www.w3.org/2000/svg";
  const WRITES = new Set(["add", "update", "batch_update", "delete", "batch_delete",
    "delete_all", "delete_users", "reset", "import"]);
  const state = { kind: "", entity: null, filters: "", q: "", page: 1, pages: 1,
    memoryId: null, lastOpId: null, kinds: new Set(), timer: null };

  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined) node.setAttribute(name, String(value));
    }
    for (const child of [].concat(children === undefined ? [] : children)) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  const pad = (n) => String(n).padStart(2, "0");
  const clock = (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const hhmm = (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const when = (iso) => { const d = new Date(iso); return `${d.toLocaleDateString()} ${clock(d)}`; };

  class HttpError extends Error {
    constructor(status, detail) { super(detail); this.status = status; }
  }

  async function api(path, params) {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(params || {})) {
      if (value !== null && value !== undefined && value !== "") query.set(name, value);
    }
    const url = query.toString() ? `${path}?${query}` : path;
    const reply = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (reply.status === 401) { window.location.reload(); throw new HttpError(401, "logged out"); }
    let body = null;
    try { body = await reply.json(); } catch (_) { body = null; }
    if (!reply.ok) {
      const detail = body && body.detail ? (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)) : reply.statusText;
      throw new HttpError(reply.status, detail);
    }
    return body;
  }

  function showError(target, error) {
    const node = $(target);
    node.textContent = error ? String(error.message || error) : "";
    node.hidden = !error;
  }

  // ---- operations ----------------------------------------------------------------------

  function pills(entries) {
    return entries.map(([k, v]) => el("span", { class: "pill" }, `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`));
  }

  function opRow(op, fresh) {
    const classes = [op.error ? "failed" : "", fresh ? "fresh" : ""].join(" ").trim();
    return el("tr", { "data-testid": "op-row", "data-id": op.id, "data-kind": op.kind, class: classes || null }, [
      el("td", {}, clock(new Date(op.created_at))),
      el("td", { class: "kind", "data-testid": "op-kind" }, op.kind),
      el("td", { "data-testid": "op-scope" }, pills(Object.entries(op.scope))),
      el("td", { "data-testid": "op-counts" }, pills(Object.entries(op.counts))),
      el("td", { class: "num" }, op.latency_ms.toFixed(1)),
      el("td", { class: "num", "data-testid": "op-tokens" }, op.tokens === null ? "" : op.tokens),
      el("td", { class: "error" }, op.error || ""),
    ]);
  }

  function renderOperations(data) {
    const rows = data.results;
    const previous = state.lastOpId;
    $("ops-body").replaceChildren(...rows.map((op) => opRow(op, previous !== null && op.id > previous)));
    $("ops-count").textContent = `${rows.length} shown`;
    const newest = rows.length ? rows[0].id : previous;
    const wrote = previous !== null && rows.some((op) => op.id > previous && WRITES.has(op.kind));
    if (!state.kind) state.lastOpId = newest;
    for (const op of rows) {
      if (!state.kinds.has(op.kind)) {
        state.kinds.add(op.kind);
        const options = [...state.kinds].sort().map((k) => el("option", { value: k }, k));
        $("kind-filter").replaceChildren(el("option", { value: "" }, "all"), ...options);
        $("kind-filter").value = state.kind;
      }
    }
    return wrote;
  }

  // ---- charts --------------------------------------------------------------------------

  const W = 600, H = 180, L = 48, R = 10, T = 12, B = 24;
  const short = (value, unit) => (unit === " ms" && value >= 1000 ? `${value / 1000} s` : `${value}${unit}`);

  function axes(chart, buckets, max, unit) {
    chart.append(svg("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }));
    chart.append(svg("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }));
    chart.append(svg("text", { x: L - 4, y: T + 8, "text-anchor": "end", "data-testid": "y-max" }, short(max, unit)));
    chart.append(svg("text", { x: L - 4, y: H - B, "text-anchor": "end" }, "0"));
    const step = (W - L - R) / buckets.length;
    buckets.forEach((b, i) => {
      if (i % 5 === 0 || i === buckets.length - 1) {
        chart.append(svg("text", { x: L + i * step + step / 2, y: H - 8, "text-anchor": "middle" }, hhmm(new Date(b.minute))));
      }
    });
    return step;
  }

  function niceMax(value) {
    if (value <= 0) return 1;
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    return [1, 2, 5, 10].map((m) => m * power).find((m) => m >= value);
  }

  function drawOps(buckets) {
    const chart = $("chart-ops");
    chart.replaceChildren();
    const max = niceMax(Math.max(0, ...buckets.map((b) => b.operations)));
    const step = axes(chart, buckets, max, "");
    const scale = (H - T - B) / max;
    buckets.forEach((b, i) => {
      if (!b.operations) return;
      const x = L + i * step + step * 0.15, w = step * 0.7;
      const okHeight = (b.operations - b.errors) * scale, errHeight = b.errors * scale;
      const kinds = Object.entries(b.by_kind).map(([k, n]) => `${k}: ${n}`).join(", ");
      const bar = svg("rect", { class: "bar", "data-testid": "ops-bar", x, y: H - B - okHeight, width: w, height: okHeight });
      bar.append(svg("title", {}, `${hhmm(new Date(b.minute))}: ${b.operations} operations (${kinds})`));
      chart.append(bar);
      if (b.errors) chart.append(svg("rect", { class: "bar err", x, y: H - B - okHeight - errHeight, width: w, height: errHeight }));
    });
  }

  function drawLatency(buckets) {
    const chart = $("chart-latency");
    chart.replaceChildren();
    const max = niceMax(Math.max(0, ...buckets.map((b) => b.p95_latency_ms || 0)));
    const step = axes(chart, buckets, max, " ms");
    const scale = (H - T - B) / max;
    for (const series of ["avg", "p95"]) {
      const points = [];
      buckets.forEach((b, i) => {
        const value = b[`${series}_latency_ms`];
        if (value === null) return;
        const x = L + i * step + step / 2, y = H - B - value * scale;
        points.push(`${x.toFixed(1)},${y.toFixed(1)}`);
        const dot = svg("circle", { class: `dot-${series}`, "data-testid": `latency-${series}`, cx: x, cy: y, r: 3 });
        dot.append(svg("title", {}, `${hhmm(new Date(b.minute))} ${series}: ${value.toFixed(1)} ms`));
        chart.append(dot);
      });
      if (points.length > 1) chart.append(svg("polyline", { class: series, points: points.join(" ") }));
    }
  }

  // ---- memories ------------------------------------------------------------------------

  function owner(m) {
    return ["user_id", "agent_id", "app_id", "run_id"].filter((f) => m[f]).map((f) => `${f.replace("_id", "")}:${m[f]}`).join(" ");
  }

  async function loadEntities() {
    const data = await api("/dashboard/api/entities");
    const items = data.results.map((e) => {
      const selected = state.entity && state.entity.type === e.type && state.entity.id === e.id;
      const button = el("button", { type: "button", class: selected ? "entity selected" : "entity",
        "data-testid": "entity", "data-type": e.type, "data-id": e.id }, [
        el("span", { class: "muted" }, e.type), el("span", {}, e.id), el("span", { class: "count" }, e.total_memories)]);
      button.addEventListener("click", () => { state.entity = { type: e.type, id: e.id }; state.page = 1; selectEntity(); });
      return el("li", {}, button);
    });
    $("entities").replaceChildren(...items);
    $("entity-all").classList.toggle("selected", !state.entity);
  }

  function selectEntity() {
    for (const b of document.querySelectorAll("[data-testid=entity]")) {
      b.classList.toggle("selected", !!state.entity && b.dataset.type === state.entity.type && b.dataset.id === state.entity.id);
    }
    $("entity-all").classList.toggle("selected", !state.entity);
    loadMemories();
  }

  function memoryRow(m) {
    const row = el("tr", { "data-testid": "memory-row", "data-id": m.id, class: m.id === state.memoryId ? "selected" : null }, [
      el("td", { "data-testid": "memory-text" }, m.memory),
      el("td", {}, owner(m)),
      el("td", {}, (m.categories || []).map((c) => el("span", { class: "pill" }, c))),
      el("td", {}, pills(Object.entries(m.metadata || {}))),
      el("td", {}, when(m.updated_at)),
      el("td", { class: "num" }, typeof m.score === "number" ? m.score.toFixed(3) : ""),
    ]);
    row.addEventListener("click", () => loadHistory(m.id));
    return row;
  }

  async function loadMemories() {
    const params = { filters: state.filters, q: state.q, page: state.page, page_size: 20 };
    if (state.entity) { params.entity_type = state.entity.type; params.entity_id = state.entity.id; }
    let data;
    try {
      data = await api("/dashboard/api/memories", params);
    } catch (error) {
      if (error.status === 400) { showError("filter-error", error); return; }
      throw error;
    }
    showError("filter-error", null);
    state.pages = data.pages;
    $("memories-body").replaceChildren(...data.results.map(memoryRow));
    const scope = state.entity ? `${state.entity.type} ${state.entity.id}` : "everyone";
    $("memories-summary").textContent = data.mode === "search"
      ? `${data.count} best matches for "${state.q}" (${scope})`
      : `${data.count} ${data.count === 1 ? "memory" : "memories"} (${scope})`;
    $("page-info").textContent = `page ${data.page} of ${data.pages}`;
    $("prev").disabled = data.page <= 1;
    $("next").disabled = data.page >= data.pages || data.mode === "search";
  }

  // ---- history -------------------------------------------------------------------------

  async function loadHistory(memoryId) {
    state.memoryId = memoryId;
    for (const r of document.querySelectorAll("[data-testid=memory-row]")) r.classList.toggle("selected", r.dataset.id === memoryId);
    const data = await api(`/dashboard/api/memories/${encodeURIComponent(memoryId)}/history`);
    $("history-title").textContent = data.memory
      ? `${memoryId}: "${data.memory.memory}"` : `${memoryId} (deleted)`;
    const items = data.history.map((h) => {
      const change = [];
      if (h.old_memory !== null && h.old_memory !== h.new_memory) change.push(el("del", {}, h.old_memory), " \u2192 ");
      if (h.new_memory !== null) change.push(el("span", {}, h.new_memory));
      return el("li", { "data-testid": "history-event", "data-event": h.event, class: `ev-${h.event}` }, [
        el("span", { class: "ev" }, h.event), el("span", { class: "muted" }, when(h.created_at)),
        el("span", { class: "change" }, change),
        Object.keys(h.metadata || {}).length ? el("span", { class: "change" }, pills(Object.entries(h.metadata))) : "",
      ]);
    });
    $("timeline").replaceChildren(...items);
  }

  // ---- refresh loop --------------------------------------------------------------------

  async function refresh() {
    try {
      // One after the other: the first read writes the store's buffered log, so the
      // second sees the same operations.
      const ops = await api("/dashboard/api/activity", { limit: 100, kind: state.kind });
      const series = await api("/dashboard/api/series", { minutes: 30 });
      const wrote = renderOperations(ops);
      drawOps(series.buckets);
      drawLatency(series.buckets);
      $("updated").textContent = `updated ${clock(new Date())}`;
      showError("load-error", null);
      if (wrote) { await loadEntities(); await loadMemories(); }
    } catch (error) {
      if (error.status !== 401) showError("load-error", error);
    }
  }

  function schedule() {
    clearTimeout(state.timer);
    if ($("live-toggle").checked) state.timer = setTimeout(async () => { await refresh(); schedule(); }, POLL_MS);
  }

  function wire() {
    $("kind-filter").addEventListener("change", (e) => { state.kind = e.target.value; refresh(); });
    $("live-toggle").addEventListener("change", schedule);
    $("entity-all").addEventListener("click", () => { state.entity = null; state.page = 1; selectEntity(); });
    $("memory-query").addEventListener("submit", (e) => {
      e.preventDefault();
      state.filters = $("filters").value.trim();
      state.q = $("search").value.trim();
      state.page = 1;
      loadMemories().catch((error) => showError("load-error", error));
    });
    $("clear").addEventListener("click", () => {
      $("filters").value = ""; $("search").value = "";
      state.filters = ""; state.q = ""; state.page = 1;
      loadMemories().catch((error) => showError("load-error", error));
    });
    $("prev").addEventListener("click", () => { state.page = Math.max(1, state.page - 1); loadMemories(); });
    $("next").addEventListener("click", () => { state.page = Math.min(state.pages, state.page + 1); loadMemories(); });
  }

  async function start() {
    wire();
    await refresh();
    try { await loadEntities(); await loadMemories(); } catch (error) { showError("load-error", error); }
    document.body.dataset.ready = "true";
    schedule();
  }

  start();
})();
