// Calls to the gateway's management API. The secret lives in this tab's sessionStorage only and
// travels in the x-tyk-authorization header of every call, as the management API asks.

const KEY = "streams.console.secret";
const HEADER = "x-tyk-authorization";

export function secret() {
  return sessionStorage.getItem(KEY) || "";
}

export function setSecret(value) {
  if (value) sessionStorage.setItem(KEY, value);
  else sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

// fetch() with the secret; JSON in and out. Non-2xx answers raise ApiError with the gateway's
// message ({"status": "error", "message": ...} or {"error": ...}).
export async function call(method, path, body, { raw = false, signal } = {}) {
  const headers = { [HEADER]: secret() };
  let payload;
  if (body !== undefined) {
    payload = raw ? body : JSON.stringify(body);
    headers["Content-Type"] = raw ? "text/plain; charset=utf-8" : "application/json";
  }
  const resp = await fetch(path, { method, headers, body: payload, signal, cache: "no-store" });
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!resp.ok) {
    const message = (data && (data.message || data.error)) || `${resp.status} ${resp.statusText}`;
    throw new ApiError(resp.status, message, data);
  }
  return data;
}

// Server-Sent Events read with fetch(), so the secret can go in a header (EventSource cannot
// send one). Calls onEvent(name, data) per event; resolves when the stream ends.
export async function readEvents(path, onEvent, signal) {
  const resp = await fetch(path, { headers: { [HEADER]: secret(), Accept: "text/event-stream" }, signal, cache: "no-store" });
  if (!resp.ok) throw new ApiError(resp.status, `${resp.status} ${resp.statusText}`, null);
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(name, data.join("\n"));
    }
  }
}
