// Live tail and test pushes against a stream's own endpoints (not the management API): watch an
// output endpoint over Server-Sent Events with a $tyk_context value as its query (user=alice),
// and POST a message to an input endpoint to see its sync response.

const MAX_SHOWN = 200;

function contextQuery(text) {
  const params = new URLSearchParams();
  for (const pair of text.split("&")) {
    const cut = pair.indexOf("=");
    if (cut > 0) params.append(pair.slice(0, cut).trim(), pair.slice(cut + 1).trim());
  }
  const query = params.toString();
  return query ? `?${query}` : "";
}

function fillSelect(select, entries) {
  const current = select.value;
  select.replaceChildren(...entries.map(({ api, stream, endpoint }) => {
    const option = document.createElement("option");
    option.value = endpoint.path;
    option.textContent = `${endpoint.path} (${api.name} / ${stream.name})`;
    return option;
  }));
  if ([...select.options].some((o) => o.value === current)) select.value = current;
}

export class Tail {
  constructor({ notify }) {
    this.notify = notify;
    this.outputs = document.getElementById("tail-endpoint");
    this.inputs = document.getElementById("push-endpoint");
    this.messages = document.getElementById("tail-messages");
    this.state = document.getElementById("tail-state");
    this.source = null;
    document.getElementById("tail-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.start();
    });
    document.getElementById("tail-stop").addEventListener("click", () => this.stop());
    document.getElementById("push-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.push();
    });
  }

  setEndpoints(apiList) {
    fillSelect(this.outputs, apiList.endpoints(["pull", "stream"]));
    fillSelect(this.inputs, apiList.endpoints(["push"]));
  }

  select(kind, path) {
    (kind === "push" ? this.inputs : this.outputs).value = path;
  }

  start() {
    this.stop();
    const path = this.outputs.value;
    if (!path) return;
    const url = path + contextQuery(document.getElementById("tail-context").value);
    this.messages.replaceChildren();
    this.state.textContent = `connecting to ${url}…`;
    const source = new EventSource(url);
    this.source = source;
    source.onopen = () => {
      this.state.textContent = `watching ${url}`;
    };
    source.onmessage = (event) => this.show(event);
    source.onerror = () => {
      if (this.source === source) {
        this.state.textContent = source.readyState === EventSource.CLOSED
          ? `stopped: ${url} refused the stream` : `reconnecting to ${url}…`;
      }
    };
  }

  show(event) {
    const item = document.createElement("li");
    const id = document.createElement("span");
    id.className = "muted";
    id.textContent = event.lastEventId ? `#${event.lastEventId} ` : "";
    const body = document.createElement("code");
    body.textContent = event.data;
    item.append(id, body);
    this.messages.prepend(item);
    while (this.messages.children.length > MAX_SHOWN) this.messages.lastChild.remove();
  }

  stop() {
    if (this.source) {
      this.source.close();
      this.source = null;
      this.state.textContent = "not watching";
    }
  }

  async push() {
    const path = this.inputs.value;
    const status = document.getElementById("push-status");
    const out = document.getElementById("push-response");
    if (!path) return;
    const url = path + contextQuery(document.getElementById("push-context").value);
    const body = document.getElementById("push-body").value;
    const looksJson = /^\s*[[{]/.test(body);
    status.textContent = `pushing to ${url}…`;
    try {
      const resp = await fetch(url, {
        method: "POST",
        body,
        headers: { "Content-Type": looksJson ? "application/json" : "text/plain; charset=utf-8" },
      });
      const text = await resp.text();
      status.textContent = `${resp.status} ${resp.statusText}`;
      let shown = text;
      try {
        shown = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        // not JSON: shown as it came
      }
      out.textContent = shown;
    } catch (err) {
      status.textContent = `push failed: ${err.message}`;
      out.textContent = "";
    }
  }
}
