// Syntax colouring for YAML and JSON definitions, one line at a time: enough for a definition
// (keys, strings, numbers, booleans, comments), no full parser. Returns HTML; every piece of the
// source is escaped.

export function escapeHtml(text) {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

const TOKEN = new RegExp(
  [
    /("(?:[^"\\]|\\.)*"|'(?:[^'\\]|''|\\.)*')(\s*:(?=\s|$))?/.source, // 1 string, 2 key colon
    /(#.*$)/.source, // 3 comment (YAML)
    /(-?\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b)/.source, // 4 number
    /\b(true|false|null)\b/.source, // 5 literal
    /(^\s*(?:-\s+)?)([^\s:#'"][^:#]*?)(\s*:(?=\s|$))/.source, // 6 indent, 7 bare key, 8 colon
  ].join("|"),
  "g",
);

export function highlightLine(line, isYaml) {
  let out = "";
  let last = 0;
  TOKEN.lastIndex = 0;
  let m;
  while ((m = TOKEN.exec(line)) !== null) {
    if (m[0] === "") {
      TOKEN.lastIndex += 1;
      continue;
    }
    if (m[3] !== undefined && !isYaml) continue;
    out += escapeHtml(line.slice(last, m.index));
    if (m[1] !== undefined) {
      out += m[2] !== undefined
        ? `<span class="t-key">${escapeHtml(m[1])}</span>${escapeHtml(m[2])}`
        : `<span class="t-str">${escapeHtml(m[1])}</span>`;
    } else if (m[3] !== undefined) {
      out += `<span class="t-comment">${escapeHtml(m[3])}</span>`;
    } else if (m[4] !== undefined) {
      out += `<span class="t-num">${escapeHtml(m[4])}</span>`;
    } else if (m[5] !== undefined) {
      out += `<span class="t-lit">${escapeHtml(m[5])}</span>`;
    } else {
      out += `${escapeHtml(m[6])}<span class="t-key">${escapeHtml(m[7])}</span>${escapeHtml(m[8])}`;
    }
    last = m.index + m[0].length;
  }
  return out + escapeHtml(line.slice(last));
}
