// The definition editor: a textarea under a highlighted <pre> copy of its text, a gutter of line
// numbers, validation as you type (debounced, by the gateway's own validator) with each problem
// marked on its line, and save / create / delete through the management API.

import { call } from "./api.js";
import { escapeHtml, highlightLine } from "./highlight.js";

const VALIDATE_DELAY_MS = 400;

export class Editor {
  constructor({ onSaved, onDeleted, notify }) {
    this.onSaved = onSaved;
    this.onDeleted = onDeleted;
    this.notify = notify;
    this.source = document.getElementById("source");
    this.highlight = document.getElementById("highlight");
    this.gutter = document.getElementById("gutter");
    this.problemsList = document.getElementById("problems");
    this.validity = document.getElementById("validity");
    this.what = document.getElementById("editor-what");
    this.nameInput = document.getElementById("new-name");
    this.nameLabel = document.getElementById("new-name-label");
    this.deleteButton = document.getElementById("delete");
    this.apiId = null; // null: a new API
    this.template = "";
    this.problems = [];
    this.timer = null;
    this.generation = 0;
    this.source.addEventListener("input", () => this.changed());
    this.source.addEventListener("scroll", () => this.syncScroll());
    this.source.addEventListener("keydown", (e) => this.keydown(e));
    this.nameInput.addEventListener("input", () => this.fromTemplate());
    document.getElementById("save").addEventListener("click", () => this.save());
    this.deleteButton.addEventListener("click", () => this.remove());
    this.render();
  }

  get isYaml() {
    return !this.source.value.trimStart().startsWith("{");
  }

  async open(apiId) {
    const src = await call("GET", `/tyk/console/apis/${encodeURIComponent(apiId)}/source`);
    this.apiId = apiId;
    this.what.textContent = `${src.file} (API ${apiId})`;
    this.showNameInput(false);
    this.deleteButton.hidden = false;
    this.source.value = src.text;
    this.changed();
  }

  newFromTemplate(template) {
    this.apiId = null;
    this.template = template;
    this.what.textContent = "a new API from the seed definition";
    this.showNameInput(true);
    this.deleteButton.hidden = true;
    if (!this.nameInput.value) this.nameInput.value = "stream-demo-copy";
    this.fromTemplate();
  }

  showNameInput(show) {
    this.nameInput.hidden = !show;
    this.nameLabel.hidden = !show;
  }

  // The seed with its API name, ID and listen path set from the name field, and its topics and
  // consumer groups prefixed with it: a copy sharing the seed's groups would take the seed's
  // messages (the same consumer group per user in both APIs).
  fromTemplate() {
    if (this.apiId !== null || !this.template) return;
    const name = this.nameInput.value.trim() || "new-api";
    this.source.value = this.template
      .replace(/^( {2}info:\n)( {4})name: stream-demo$/m, `$1$2id: ${name}\n$2name: ${name}`)
      .replace(/^( *value:) \/stream-demo\/$/m, `$1 /${name}/`)
      .replace(/^( *(?:- |topic: ))(jobs|completed)$/gm, `$1${name}-$2`)
      .replace(/^( *consumer_group: )(worker|\$tyk_context\.request_data_user)$/gm, `$1${name}-$2`);
    this.changed();
  }

  keydown(event) {
    if (event.key === "Tab" && !event.shiftKey && !event.ctrlKey && !event.altKey && !event.metaKey) {
      // Two spaces, as YAML wants; Escape then Tab leaves the editor (keyboard users keep a way out).
      if (this.tabEscapes) {
        this.tabEscapes = false;
        return;
      }
      event.preventDefault();
      document.execCommand("insertText", false, "  ");
    } else if (event.key === "Escape") {
      this.tabEscapes = true;
    } else if ((event.ctrlKey || event.metaKey) && event.key === "s") {
      event.preventDefault();
      this.save();
    }
  }

  changed() {
    this.render();
    clearTimeout(this.timer);
    this.validity.textContent = "checking…";
    this.validity.className = "validity";
    this.timer = setTimeout(() => this.validate(), VALIDATE_DELAY_MS);
  }

  syncScroll() {
    this.highlight.scrollTop = this.source.scrollTop;
    this.highlight.scrollLeft = this.source.scrollLeft;
    this.gutter.scrollTop = this.source.scrollTop;
  }

  async validate() {
    const generation = ++this.generation;
    const text = this.source.value;
    if (!text.trim()) {
      this.setProblems([{ line: 1, column: 1, path: "", message: "the definition is empty" }]);
      return;
    }
    try {
      const query = this.apiId ? `?id=${encodeURIComponent(this.apiId)}` : "";
      const result = await call("POST", `/tyk/console/validate${query}`, text, { raw: true });
      if (generation === this.generation) this.setProblems(result.problems);
    } catch (err) {
      if (generation === this.generation) this.setProblems([{ line: null, column: null, path: "", message: err.message }]);
    }
  }

  setProblems(problems) {
    this.problems = problems;
    this.validity.textContent = problems.length ? `${problems.length} problem${problems.length > 1 ? "s" : ""}` : "valid";
    this.validity.className = problems.length ? "validity bad" : "validity good";
    this.problemsList.replaceChildren(
      ...problems.map((p) => {
        const li = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "link";
        button.textContent = `line ${p.line || "?"}${p.column ? `:${p.column}` : ""}`;
        button.addEventListener("click", () => this.goTo(p.line || 1, p.column || 1));
        li.append(button, ` ${p.path ? `${p.path}: ` : ""}${p.message}`);
        return li;
      }),
    );
    this.render();
  }

  goTo(line, column) {
    const lines = this.source.value.split("\n");
    let offset = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i += 1) offset += lines[i].length + 1;
    offset += Math.max(0, column - 1);
    this.source.focus();
    this.source.setSelectionRange(offset, offset);
    const lineHeight = parseFloat(getComputedStyle(this.source).lineHeight) || 19;
    this.source.scrollTop = Math.max(0, (line - 4) * lineHeight);
    this.syncScroll();
  }

  render() {
    const lines = this.source.value.split("\n");
    const byLine = new Map();
    for (const p of this.problems) {
      const line = p.line || 1;
      if (!byLine.has(line)) byLine.set(line, []);
      byLine.get(line).push(p.message);
    }
    const yaml = this.isYaml;
    this.highlight.innerHTML = lines
      .map((text, i) => {
        const messages = byLine.get(i + 1);
        const body = highlightLine(text, yaml);
        if (!messages) return `<span class="line">${body}</span>`;
        const note = `<span class="inline-problem">  ⟵ ${escapeHtml(messages.join("; "))}</span>`;
        return `<span class="line problem-line" data-line="${i + 1}">${body}${note}</span>`;
      })
      .join("\n") + "\n";
    this.gutter.innerHTML = lines
      .map((_, i) => {
        const messages = byLine.get(i + 1);
        return messages
          ? `<span class="problem" data-line="${i + 1}" title="${escapeHtml(messages.join("; "))}">${i + 1}</span>`
          : `<span>${i + 1}</span>`;
      })
      .join("\n");
    this.syncScroll();
  }

  async save() {
    const text = this.source.value;
    try {
      const result = this.apiId
        ? await call("PUT", `/tyk/apis/oas/${encodeURIComponent(this.apiId)}`, text, { raw: true })
        : await call("POST", "/tyk/apis/oas", text, { raw: true });
      this.notify(`API ${result.key} ${result.action}: serving now`);
      if (!this.apiId) await this.open(result.key);
      this.onSaved(result.key);
    } catch (err) {
      if (err.body && Array.isArray(err.body.problems)) this.setProblems(err.body.problems);
      this.notify(`not saved: ${err.message}`, true);
    }
  }

  async remove() {
    if (!this.apiId) return;
    if (!window.confirm(`Delete API ${this.apiId}? Its file is removed and its endpoints stop.`)) return;
    try {
      await call("DELETE", `/tyk/apis/oas/${encodeURIComponent(this.apiId)}`);
      this.notify(`API ${this.apiId} deleted`);
      const gone = this.apiId;
      this.apiId = null;
      this.source.value = "";
      this.what.textContent = "";
      this.problems = [];
      this.render();
      this.onDeleted(gone);
    } catch (err) {
      this.notify(`not deleted: ${err.message}`, true);
    }
  }
}
