// The Bloblang playground: the gateway's own compiler runs the mapping (POST
// /tyk/console/bloblang, bounded there) as you type; the state is kept in the URL fragment
// (#playground=<base64url JSON>) so a link shares it.

import { call } from "./api.js";

const RUN_DELAY_MS = 300;

function encodeState(state) {
  const bytes = new TextEncoder().encode(JSON.stringify(state));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodeState(text) {
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const state = JSON.parse(new TextDecoder().decode(bytes));
    return state && typeof state === "object" ? state : null;
  } catch {
    return null;
  }
}

export class Playground {
  constructor({ notify }) {
    this.notify = notify;
    this.mapping = document.getElementById("pg-mapping");
    this.input = document.getElementById("pg-input");
    this.meta = document.getElementById("pg-meta");
    this.output = document.getElementById("pg-output");
    this.outMeta = document.getElementById("pg-out-meta");
    this.error = document.getElementById("pg-error");
    this.state = document.getElementById("pg-state");
    this.examples = document.getElementById("pg-example");
    this.timer = null;
    this.generation = 0;
    this.active = false;
    for (const field of [this.mapping, this.input, this.meta]) {
      field.addEventListener("input", () => this.changed());
    }
    this.examples.addEventListener("change", () => this.useExample());
    document.getElementById("pg-share").addEventListener("click", () => this.share());
    this.mappingExamples = [];
  }

  setExamples(mappings) {
    this.mappingExamples = mappings;
    const first = this.examples.options[0];
    this.examples.replaceChildren(first, ...mappings.map((m, i) => {
      const option = document.createElement("option");
      option.value = String(i);
      option.textContent = `seed stream "${m.stream}"`;
      return option;
    }));
  }

  useExample() {
    const example = this.mappingExamples[Number(this.examples.value)];
    if (!example || this.examples.value === "") return;
    this.mapping.value = example.mapping.replace(/\n$/, "");
    this.changed();
  }

  load(state) {
    if (typeof state.mapping === "string") this.mapping.value = state.mapping;
    if (typeof state.input === "string") this.input.value = state.input;
    if (state.metadata !== undefined) this.meta.value = JSON.stringify(state.metadata);
  }

  current() {
    let metadata;
    try {
      metadata = this.meta.value.trim() ? JSON.parse(this.meta.value) : {};
    } catch (err) {
      return { problem: `input metadata is not JSON: ${err.message}` };
    }
    if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) {
      return { problem: "input metadata must be a JSON object" };
    }
    return { mapping: this.mapping.value, input: this.input.value, metadata };
  }

  changed() {
    clearTimeout(this.timer);
    this.state.textContent = "running…";
    this.timer = setTimeout(() => this.run(), RUN_DELAY_MS);
  }

  // Leaving the playground (another view, or signing out) drops a run not sent yet and the
  // answer of one in flight: a run after signing out would go without the secret.
  cancel() {
    clearTimeout(this.timer);
    this.generation += 1;
  }

  remember(state) {
    const fragment = `#playground=${encodeState(state)}`;
    if (this.active && window.location.hash !== fragment) history.replaceState(null, "", fragment);
  }

  share() {
    const state = this.current();
    if (state.problem) return;
    this.remember(state);
    const link = window.location.href;
    if (navigator.clipboard) {
      navigator.clipboard.writeText(link).then(
        () => this.notify("link copied"),
        () => this.notify(`link: ${link}`),
      );
    } else {
      this.notify(`link: ${link}`);
    }
  }

  async run() {
    const generation = ++this.generation;
    const state = this.current();
    if (state.problem) {
      this.show({ parse_error: "", mapping_error: state.problem, result: null, metadata: {} });
      return;
    }
    this.remember(state);
    try {
      const result = await call("POST", "/tyk/console/bloblang", state);
      if (generation === this.generation) this.show(result);
    } catch (err) {
      if (generation === this.generation) {
        this.show({ parse_error: "", mapping_error: err.message, result: null, metadata: {} });
      }
    }
  }

  show(result) {
    const failed = result.parse_error || result.mapping_error;
    this.error.textContent = result.parse_error || result.mapping_error || "";
    this.output.textContent = failed ? "" : result.deleted ? "(the message was deleted)" : result.result;
    this.outMeta.textContent = failed ? "" : JSON.stringify(result.metadata, null, 2);
    this.state.textContent = failed ? "error" : "ok";
  }
}
