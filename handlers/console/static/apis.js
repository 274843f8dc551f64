// The API list: each definition file with its state and problems, its streams, their endpoints
// and live counters. Counters come from /tyk/console/events (one event a second); the list is
// fetched again when the event's generation says the served APIs or their problems changed.

import { call, readEvents } from "./api.js";

const COUNTERS = [
  ["received", "received"],
  ["sent", "sent"],
  ["errors", "errors"],
  ["clients", "connected clients"],
  ["lag", "consumer lag"],
];
const STATE_TEXT = {
  active: "active",
  stale: "invalid file; last good version serving",
  invalid: "invalid: not serving",
  inactive: "inactive",
  pending: "not applied yet",
};

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

export class ApiList {
  constructor({ onEdit, onTail, onPush, onLoaded, notify }) {
    this.container = document.getElementById("api-list");
    this.live = document.getElementById("live");
    this.onEdit = onEdit;
    this.onTail = onTail;
    this.onPush = onPush;
    this.onLoaded = onLoaded;
    this.notify = notify;
    this.apis = [];
    this.generation = null;
    this.controller = null;
  }

  async load() {
    const data = await call("GET", "/tyk/console/apis");
    this.apis = data.apis;
    this.render();
    this.onLoaded(this);
    return this.apis;
  }

  endpoints(kinds) {
    const out = [];
    for (const api of this.apis) {
      for (const stream of api.streams) {
        for (const ep of stream.endpoints) {
          if (kinds.includes(ep.kind)) out.push({ api, stream, endpoint: ep });
        }
      }
    }
    return out;
  }

  render() {
    if (!this.apis.length) {
      this.container.replaceChildren(el("p", { class: "muted" }, "No API definitions yet."));
      return;
    }
    this.container.replaceChildren(...this.apis.map((api) => this.card(api)));
  }

  card(api) {
    const problems = api.problems.length
      ? el("ul", { class: "problems" }, ...api.problems.map((p) =>
        el("li", {}, `line ${p.line || "?"}: ${p.path ? `${p.path}: ` : ""}${p.message}`)))
      : null;
    const table = el("table", { class: "streams" },
      el("caption", { class: "visually-hidden" }, `Streams of ${api.name}`),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col" }, "Stream"),
        el("th", { scope: "col" }, "Endpoints"),
        ...COUNTERS.map(([, label]) => el("th", { scope: "col", class: "num" }, label)))),
      el("tbody", {}, ...api.streams.map((s) => this.streamRow(api, s))));
    return el("article", { class: "api", "data-api": api.name || api.file, "aria-labelledby": `api-${api.id}` },
      el("div", { class: "bar" },
        el("h3", { id: `api-${api.id}` }, api.name || api.id),
        el("span", { class: `badge state-${api.state}`, "data-state": api.state }, STATE_TEXT[api.state] || api.state),
        el("code", {}, api.listen_path),
        el("span", { class: "muted" }, `${api.file} · id ${api.id}`),
        api.editable
          ? el("button", { type: "button", onclick: () => this.onEdit(api.id) }, `Edit ${api.name || api.id}`)
          : el("span", { class: "muted" }, "does not parse: fix the file on disk")),
      problems,
      el("div", { class: "table-scroll" }, table));
  }

  streamRow(api, stream) {
    const endpoints = el("ul", { class: "endpoints" }, ...stream.endpoints.map((ep) => {
      const action = ep.kind === "pull" || ep.kind === "stream"
        ? el("button", { type: "button", class: "link", onclick: () => this.onTail(ep.path) }, "tail")
        : ep.kind === "push"
          ? el("button", { type: "button", class: "link", onclick: () => this.onPush(ep.path) }, "push")
          : null;
      return el("li", {}, el("span", { class: "method" }, ep.methods.join(",")), " ",
        el("code", {}, ep.path), " ", el("span", { class: "kind" }, ep.kind), action ? " " : "", action);
    }));
    const vars = stream.variables.length ? el("div", { class: "muted" }, `per ${stream.variables.join(", ")}`) : null;
    return el("tr", { "data-stream": stream.name },
      el("th", { scope: "row" }, stream.name, vars),
      el("td", { "data-label": "endpoints" }, endpoints),
      ...COUNTERS.map(([key, label]) => el("td", { class: "num", "data-counter": key, "data-label": label }, "–")));
  }

  applyStats(stats) {
    for (const s of stats.streams) {
      const row = this.container.querySelector(
        `article[data-api="${CSS.escape(s.api)}"] tr[data-stream="${CSS.escape(s.stream)}"]`);
      if (!row) continue;
      for (const [key] of COUNTERS) {
        const cell = row.querySelector(`[data-counter="${key}"]`);
        if (cell) cell.textContent = String(Math.round(s[key]));
      }
    }
  }

  // Keep reading the counters; reconnect after a pause when the stream ends (a worker restart).
  async follow() {
    this.stop();
    const controller = new AbortController();
    this.controller = controller;
    while (!controller.signal.aborted) {
      try {
        this.live.textContent = "counters: live";
        await readEvents("/tyk/console/events", (name, data) => this.event(name, data), controller.signal);
      } catch (err) {
        if (controller.signal.aborted) return;
        this.live.textContent = `counters: reconnecting (${err.message})`;
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }

  async event(name, data) {
    if (name !== "stats") return;
    const stats = JSON.parse(data);
    if (stats.generation !== this.generation) {
      const first = this.generation === null;
      this.generation = stats.generation;
      if (!first) await this.load().catch((err) => this.notify(err.message, true));
    }
    this.applyStats(stats);
  }

  stop() {
    if (this.controller) this.controller.abort();
    this.controller = null;
  }
}
