// The console driven in a headless browser, as a user would: sign in, see the seed API, edit its
// definition (an error marked at its line, then fixed and saved), create and delete an API,
// push a message and see it in the live tail, use the Bloblang playground, look at it on a
// phone-sized screen, and do the main flows with the keyboard only. The same steps run in
// Chromium and Firefox (CONSOLE_BROWSER, drivers.mjs). Launched by tests/e2e/test_console.py,
// which starts the gateway and passes what to expect in the environment; every step that fails
// throws with what it saw.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { launch } from "./drivers.mjs";

const env = (name) => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const BROWSER = env("CONSOLE_BROWSER");
const BASE = env("CONSOLE_BASE");
const SECRET = env("CONSOLE_SECRET");
const ARTIFACTS = env("CONSOLE_ARTIFACTS");
const ERROR_LINE = Number(env("CONSOLE_ERROR_LINE"));
const USER = env("CONSOLE_USER");
const PG_MAPPING = env("CONSOLE_PG_MAPPING");
const PG_ERROR = env("CONSOLE_PG_ERROR");
const WAIT = 30000;
const MAX_TABS = 60;

mkdirSync(ARTIFACTS, { recursive: true });
const started = Date.now();
const step = (text) => console.log(`step (${((Date.now() - started) / 1000).toFixed(1)}s, ${new Date().toISOString().slice(11, 23)}): ${text}`);
const shot = (page, name) => page.screenshot(join(ARTIFACTS, `${name}.png`));

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// What has the keyboard focus: its id, text, and whether its focus ring shows (the
// :focus-visible outline; the editor's textarea shows it on its frame, #code).
const focusState = () => {
  const el = document.activeElement;
  const ringed = el && el.id === "source" ? document.getElementById("code") : el;
  const style = ringed ? getComputedStyle(ringed) : null;
  return {
    id: el ? el.id : "",
    tag: el ? el.tagName.toLowerCase() : "",
    text: el ? (el.textContent || "").trim() : "",
    inApi: el && el.closest("article[data-api]") ? el.closest("article[data-api]").dataset.api : null,
    focusVisible: Boolean(el && el !== document.body && el.matches(":focus-visible")),
    ring: Boolean(style && style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2),
  };
};

// Presses key (Tab or Shift+Tab) until the focused element satisfies want; each stop on the way
// must show its focus. Fails after MAX_TABS presses.
async function tabTo(page, what, want, key = "Tab") {
  for (let i = 0; i < MAX_TABS; i += 1) {
    await page.press(key);
    const now = await page.evaluate(focusState);
    if (now.tag !== "body") check(now.focusVisible && now.ring, `no visible focus on ${JSON.stringify(now)} (tabbing to ${what})`);
    if (want(now)) return now;
  }
  throw new Error(`${key} never reaches ${what} (${MAX_TABS} presses)`);
}

const browser = await launch(BROWSER, { width: 1280, height: 900, timeout: WAIT });
console.log(`browser: ${browser.version}`);
const failures = [];
const page = await browser.newPage();
page.onProblems((problem) => failures.push(problem));

try {
  step("open the console: the sign-in form has the focus, Tab reaches its button");
  await page.goto(`${BASE}/tyk/console/`);
  await page.waitFor("#view-signin:not([hidden])");
  check(await page.focusedId() === "secret", "the secret field is not focused at start");
  await page.press("Tab");
  check((await page.evaluate(focusState)).text === "Sign in", "Tab from the secret does not reach Sign in");

  step("a wrong secret is refused");
  await page.fill("#secret", "not-the-secret");
  await page.press("Enter");
  await page.waitUntil(() => document.getElementById("status").textContent.includes("not the gateway's management secret"));
  check(await page.evaluate(() => document.getElementById("nav").hidden), "the navigation shows after a wrong secret");

  step("sign in with the keyboard");
  await page.fill("#secret", SECRET);
  await page.press("Enter");
  await page.waitFor('#view-apis:not([hidden]) article[data-api="stream-demo"]');
  const state = await page.attr('article[data-api="stream-demo"] .badge', "data-state");
  check(state === "active", `seed API state is ${state}`);
  const streams = await page.evaluate(() => [...document.querySelectorAll('article[data-api="stream-demo"] tr[data-stream]')]
    .map((r) => r.dataset.stream));
  check(JSON.stringify(streams) === JSON.stringify(["Worker", "in", "out"]), `seed streams: ${streams}`);
  const endpoints = await page.text('article[data-api="stream-demo"] tr[data-stream="in"] .endpoints');
  check(endpoints.includes("POST") && endpoints.includes("/stream-demo/push-event") && endpoints.includes("push"), `in endpoints: ${endpoints}`);
  check(await page.evaluate(() => sessionStorage.getItem("streams.console.secret")) !== null, "secret not in sessionStorage");
  check(await page.evaluate(() => localStorage.length) === 0, "something was written to localStorage");
  await shot(page, "01-apis");

  step("open the seed definition in the editor");
  await page.click('article[data-api="stream-demo"] button', "Edit");
  await page.waitFor("#view-editor:not([hidden])");
  await page.waitUntil(() => document.getElementById("validity").textContent === "valid");
  const original = await page.value("#source");
  check(original.includes("x-tyk-streaming:") && original.includes("# metrics:"), "the editor does not hold the YAML as written");
  check(await page.evaluate(() => document.querySelectorAll("#highlight .t-key").length) > 20, "no keys highlighted");

  step(`introduce an error: it is marked at line ${ERROR_LINE}`);
  const broken = original.replace("path: /push-event", "pathx: /push-event");
  await page.fill("#source", broken);
  await page.waitFor(`#gutter .problem[data-line="${ERROR_LINE}"]`, "attached");
  const inline = await page.text(`#highlight .problem-line[data-line="${ERROR_LINE}"] .inline-problem`);
  check(inline.includes("unknown field (did you mean 'path'?)"), `inline problem: ${inline}`);
  const listed = await page.text("#problems");
  check(listed.includes(`line ${ERROR_LINE}`) && listed.includes("streams.in.input.http_server.pathx"), `problems list: ${listed}`);
  check(await page.text("#validity") === "1 problem", "validity does not say 1 problem");
  // The marks sit on the line: the gutter number and the highlighted line are level with the
  // textarea's line of that number (the overlay lines up in this browser's text layout).
  const offsets = await page.evaluate((line) => {
    const mark = document.querySelector(`#gutter .problem[data-line="${line}"]`).getBoundingClientRect();
    const marked = document.querySelector(`#highlight .problem-line[data-line="${line}"]`).getBoundingClientRect();
    const source = document.getElementById("source");
    const lineHeight = parseFloat(getComputedStyle(source).lineHeight);
    const top = source.getBoundingClientRect().top + parseFloat(getComputedStyle(source).paddingTop)
      + (line - 1) * lineHeight - source.scrollTop;
    return { gutter: mark.top - top, line: marked.top - top, lineHeight };
  }, ERROR_LINE);
  check(Math.abs(offsets.gutter) < offsets.lineHeight / 2 && Math.abs(offsets.line) < offsets.lineHeight / 2,
    `the marks are not on line ${ERROR_LINE} of the text: ${JSON.stringify(offsets)}`);
  await page.click("#problems button", `line ${ERROR_LINE}`);
  check(await page.focusedId() === "source", "the problem link does not focus the editor");
  await shot(page, "02-editor-error");

  step("fix it, change the in mapping, save and deploy");
  const fixed = original.replace("root.job_id = uuid_v4()", 'root.job_id = uuid_v4()\n              root.via = "console"');
  await page.fill("#source", fixed);
  await page.waitUntil(() => document.getElementById("validity").textContent === "valid");
  check(await page.evaluate(() => document.querySelectorAll("#gutter .problem").length) === 0, "a problem mark stayed after the fix");
  await page.click("#save");
  await page.waitUntil(() => document.getElementById("status").textContent.includes("API streams-demo modified"));
  check(await page.value("#source") === fixed, "the editor's text changed on save");
  await shot(page, "03-editor-saved");

  step("push a message and see it in the live tail");
  await page.click('#nav button[data-view="apis"]');
  await page.click('article[data-api="stream-demo"] tr[data-stream="out"] button', "tail");
  await page.waitFor("#view-tail:not([hidden])");
  check(await page.value("#tail-endpoint") === "/stream-demo/get-event", "tail did not preselect get-event");
  await page.fill("#tail-context", `user=${USER}`);
  await page.click("#tail-start");
  await page.waitUntil(() => document.getElementById("tail-state").textContent.startsWith("watching"));
  await page.select("#push-endpoint", { value: "/stream-demo/push-event" });
  await page.fill("#push-context", `user=${USER}`);
  await page.fill("#push-body", '{"message": "hello from the browser"}');
  // The worker that took the save serves it at once, the other within the directory watch's
  // interval: push until the reply shows the saved mapping.
  let sync = null;
  for (const deadline = Date.now() + WAIT; !sync || sync.via !== "console";) {
    check(Date.now() < deadline, `the saved mapping is not served: ${JSON.stringify(sync)}`);
    await page.evaluate(() => { document.getElementById("push-status").textContent = ""; });
    await page.click("#push-send");
    await page.waitUntil(() => document.getElementById("push-status").textContent === "200 OK");
    sync = JSON.parse(await page.text("#push-response"));
    check(sync.message === "hello from the browser" && sync.user_id === USER, `sync response: ${JSON.stringify(sync)}`);
  }
  await page.waitUntil((jobId) => [...document.querySelectorAll("#tail-messages li code")]
    .some((c) => c.textContent.includes(jobId)), sync.job_id);
  const tailed = JSON.parse(await page.text("#tail-messages li code"));
  check(tailed.message === "hello from the browser" && tailed.result === "bar" && tailed.job_id === sync.job_id
    && tailed.via === "console", `tailed (newest first): ${JSON.stringify(tailed)}`);
  await shot(page, "04-live-tail");
  await page.click("#tail-stop");

  step("the live counters show the push, the out stream's reads included");
  await page.click('#nav button[data-view="apis"]');
  for (const stream of ["in", "out"]) {
    await page.waitUntil((name) => {
      const cell = document.querySelector(`article[data-api="stream-demo"] tr[data-stream="${name}"] [data-counter="received"]`);
      return cell && Number(cell.textContent) >= 1;
    }, stream, `the ${stream} stream's received counter`);
  }

  step("create an API from the seed, then delete it (confirmed)");
  await page.click("#new-api");
  await page.fill("#new-name", "console-copy");
  await page.waitUntil(() => document.getElementById("editor-what").textContent.includes("new API")
    && document.getElementById("source").value.includes("id: console-copy")
    && document.getElementById("validity").textContent === "valid");
  const copy = await page.value("#source");
  check(copy.includes("id: console-copy") && copy.includes("value: /console-copy/") && copy.includes("topic: console-copy-jobs")
    && copy.includes("consumer_group: console-copy-$tyk_context.request_data_user"), "the copy does not have its own name, path, topics and groups");
  await page.click("#save");
  await page.waitUntil(() => document.getElementById("status").textContent.includes("API console-copy added"));
  await page.click('#nav button[data-view="apis"]');
  await page.waitFor('article[data-api="console-copy"] .badge[data-state="active"]');
  await page.click('article[data-api="console-copy"] button', "Edit");
  await page.waitUntil(() => document.getElementById("editor-what").textContent.includes("console-copy"));
  const asked = page.acceptNextDialog();
  await page.click("#delete");
  await page.waitUntil(() => document.getElementById("status").textContent.includes("API console-copy deleted"));
  check((await asked).includes("Delete API console-copy?"), `confirmation asked: ${await asked}`);
  await page.waitFor('article[data-api="console-copy"]', "detached");

  step("the playground runs the seed's Worker mapping");
  await page.click('#nav button[data-view="playground"]');
  await page.select("#pg-example", { label: 'seed stream "Worker"' });
  await page.fill("#pg-input", '{"message": "hi"}');
  await page.waitUntil(() => document.getElementById("pg-output").textContent.includes('"result": "bar"'));
  const output = JSON.parse(await page.text("#pg-output"));
  check(output.message === "hi" && output.result === "bar", `playground output: ${JSON.stringify(output)}`);

  step("a mapping error shows the text Benthos prints, caret included");
  await page.fill("#pg-mapping", PG_MAPPING);
  await page.waitUntil((expected) => document.getElementById("pg-error").textContent === expected, PG_ERROR);
  check(page.url().includes("#playground="), "the playground state is not in the URL");
  await shot(page, "05-playground-error");

  step("the playground link restores the state");
  const link = page.url();
  const second = await browser.newPage();
  second.onProblems((problem) => failures.push(problem));
  await second.goto(link);
  await second.fill("#secret", SECRET);
  await second.press("Enter");
  await second.waitFor("#view-playground:not([hidden])");
  check(await second.value("#pg-mapping") === PG_MAPPING, "the shared link did not restore the mapping");
  await second.waitUntil((expected) => document.getElementById("pg-error").textContent === expected, PG_ERROR);
  await second.close();

  step("a phone-sized screen: no sideways scrolling");
  await page.setViewport(390, 844);
  await page.click('#nav button[data-view="apis"]');
  await page.waitFor('article[data-api="stream-demo"]');
  for (const view of ["apis", "editor", "tail", "playground"]) {
    await page.click(`#nav button[data-view="${view}"]`);
    await page.waitFor(`#view-${view}:not([hidden])`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 1, `the ${view} view is ${overflow}px wider than a phone screen`);
  }
  await page.click('#nav button[data-view="apis"]');
  await shot(page, "06-phone-apis");
  await page.click('#nav button[data-view="playground"]');
  await shot(page, "07-phone-playground");
  await page.setViewport(1280, 900);

  step("keyboard only: sign out, then Tab to the secret and the button, Space signs in");
  await page.click("#sign-out");
  await page.waitFor("#view-signin:not([hidden])");
  await page.evaluate(() => document.activeElement.blur());
  await tabTo(page, "the secret field", (f) => f.id === "secret");
  await page.type(SECRET);
  await tabTo(page, "the Sign in button", (f) => f.text === "Sign in");
  await page.press(" ");
  await page.waitFor('#view-apis:not([hidden]) article[data-api="stream-demo"]');

  step("keyboard only: Tab reaches the API list; Enter opens the editor with the focus in it");
  await tabTo(page, "the seed API's Edit button", (f) => f.inApi === "stream-demo" && f.text.startsWith("Edit"));
  await page.press("Enter");
  await page.waitFor("#view-editor:not([hidden])");
  await page.waitUntil(() => document.getElementById("validity").textContent === "valid");
  let focus = await page.evaluate(focusState);
  check(focus.id === "source" && focus.ring, `the editor does not have a visible focus: ${JSON.stringify(focus)}`);
  const before = await page.value("#source");
  await page.press("Tab");
  check((await page.value("#source")).length === before.length + 2, "Tab in the editor does not indent two spaces");
  await page.press("Backspace");
  await page.press("Backspace");
  check(await page.value("#source") === before, "Backspace does not take the indent back");

  step("keyboard only: Shift+Tab back to Save; Enter saves");
  await page.evaluate(() => { document.getElementById("status").textContent = ""; });
  await tabTo(page, "Save and deploy", (f) => f.id === "save", "Shift+Tab");
  await page.press("Enter");
  await page.waitUntil(() => document.getElementById("status").textContent.includes("API streams-demo modified"));

  step("keyboard only: the playground from the navigation, a mapping typed, its output shown");
  await tabTo(page, "the playground in the navigation", (f) => f.text === "Bloblang playground", "Shift+Tab");
  await page.press("Enter");
  await page.waitFor("#view-playground:not([hidden])");
  await tabTo(page, "the playground's example", (f) => f.id === "pg-example");
  await tabTo(page, "the mapping", (f) => f.id === "pg-mapping");
  await page.press("Control+a");
  await page.type("root.typed = this.k");
  await tabTo(page, "the input document", (f) => f.id === "pg-input");
  await page.press("Control+a");
  await page.type('{"k": "by keyboard"}');
  await page.waitUntil(() => document.getElementById("pg-output").textContent.includes('"typed": "by keyboard"'));
  await tabTo(page, "the output", (f) => f.id === "pg-output");

  step("keyboard only: back to the editor; Esc then Tab leaves it");
  await tabTo(page, "the editor in the navigation", (f) => f.text === "Editor", "Shift+Tab");
  await page.press(" ");
  await page.waitFor("#view-editor:not([hidden])");
  await tabTo(page, "the editor", (f) => f.id === "source");
  await page.press("Escape");
  await page.press("Tab");
  focus = await page.evaluate(focusState);
  // Last: nothing focusable follows the editor while its problem list is empty, so the focus
  // leaves the page (headless Firefox shows no focus ring after it comes back).
  check(focus.id !== "source", `Esc then Tab does not leave the editor: ${JSON.stringify(focus)}`);
  check(await page.value("#source") === before, "Esc then Tab changed the text");

  step("every control has a name: labelled fields, buttons with text");
  const unnamed = await page.evaluate(() => [...document.querySelectorAll("input, select, textarea, button, [tabindex]:not([tabindex=\"-1\"])")]
    .filter((el) => el.id !== "main")
    .filter((el) => {
      if (el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")) return false;
      if (el.tagName === "BUTTON") return !el.textContent.trim();
      return !(el.labels && el.labels.length);
    })
    .map((el) => el.id || el.outerHTML.slice(0, 60)));
  check(unnamed.length === 0, `controls without a name: ${unnamed.join(", ")}`);
  const divButtons = await page.evaluate(() => document.querySelectorAll("div[onclick], span[onclick], [role=button]:not(button)").length);
  check(divButtons === 0, `${divButtons} clickable elements that are not buttons`);

  check(failures.length === 0, failures.join("; "));
  console.log(`console walkthrough passed in ${BROWSER} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
} catch (err) {
  await shot(page, "failure").catch(() => {});
  console.error(`FAILED: ${err.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
