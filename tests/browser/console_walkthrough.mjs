// The console driven in headless Chromium, as a user would: sign in, see the seed API, edit its
// definition (an error marked at its line, then fixed and saved), create and delete an API,
// push a message and see it in the live tail, use the Bloblang playground, and look at it on a
// phone-sized screen. Launched by tests/e2e/test_console.py, which starts the gateway and
// passes what to expect in the environment; every step that fails throws with what it saw.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const env = (name) => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const BASE = env("CONSOLE_BASE");
const SECRET = env("CONSOLE_SECRET");
const ARTIFACTS = env("CONSOLE_ARTIFACTS");
const ERROR_LINE = Number(env("CONSOLE_ERROR_LINE"));
const USER = env("CONSOLE_USER");
const PG_MAPPING = env("CONSOLE_PG_MAPPING");
const PG_ERROR = env("CONSOLE_PG_ERROR");
const WAIT = 30000;

mkdirSync(ARTIFACTS, { recursive: true });
const step = (text) => console.log(`step: ${text}`);
const shot = (page, name) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const failures = [];
// bypassCSP: the checks below run as evaluated functions, which the page's own policy forbids.
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
const page = await context.newPage();
page.on("pageerror", (err) => failures.push(`page error: ${err.message}`));
page.on("console", (msg) => {
  if (msg.type() === "error") console.log(`browser console: ${msg.text()}`);
});
page.setDefaultTimeout(WAIT);

try {
  step("open the console: the sign-in form has the focus, Tab reaches its button");
  await page.goto(`${BASE}/tyk/console/`);
  await page.waitForSelector("#view-signin:not([hidden])");
  check(await page.evaluate(() => document.activeElement.id) === "secret", "the secret field is not focused at start");
  await page.keyboard.press("Tab");
  check(await page.evaluate(() => document.activeElement.textContent) === "Sign in", "Tab from the secret does not reach Sign in");

  step("a wrong secret is refused");
  await page.fill("#secret", "not-the-secret");
  await page.press("#secret", "Enter");
  await page.waitForFunction(() => document.getElementById("status").textContent.includes("not the gateway's management secret"));
  check(await page.isHidden("#nav"), "the navigation shows after a wrong secret");

  step("sign in with the keyboard");
  await page.fill("#secret", SECRET);
  await page.press("#secret", "Enter");
  await page.waitForSelector('#view-apis:not([hidden]) article[data-api="stream-demo"]');
  const state = await page.getAttribute('article[data-api="stream-demo"] .badge', "data-state");
  check(state === "active", `seed API state is ${state}`);
  const streams = await page.$$eval('article[data-api="stream-demo"] tr[data-stream]', (rows) => rows.map((r) => r.dataset.stream));
  check(JSON.stringify(streams) === JSON.stringify(["Worker", "in", "out"]), `seed streams: ${streams}`);
  const endpoints = await page.textContent('article[data-api="stream-demo"] tr[data-stream="in"] .endpoints');
  check(endpoints.includes("POST") && endpoints.includes("/stream-demo/push-event") && endpoints.includes("push"), `in endpoints: ${endpoints}`);
  check(await page.evaluate(() => sessionStorage.getItem("streams.console.secret")) !== null, "secret not in sessionStorage");
  check(await page.evaluate(() => localStorage.length) === 0, "something was written to localStorage");
  await shot(page, "01-apis");

  step("open the seed definition in the editor");
  await page.click('article[data-api="stream-demo"] button:has-text("Edit")');
  await page.waitForSelector("#view-editor:not([hidden])");
  await page.waitForFunction(() => document.getElementById("validity").textContent === "valid");
  const original = await page.inputValue("#source");
  check(original.includes("x-tyk-streaming:") && original.includes("# metrics:"), "the editor does not hold the YAML as written");
  check(await page.$$eval("#highlight .t-key", (keys) => keys.length) > 20, "no keys highlighted");

  step(`introduce an error: it is marked at line ${ERROR_LINE}`);
  const broken = original.replace("path: /push-event", "pathx: /push-event");
  await page.fill("#source", broken);
  await page.waitForSelector(`#gutter .problem[data-line="${ERROR_LINE}"]`);
  const inline = await page.textContent(`#highlight .problem-line[data-line="${ERROR_LINE}"] .inline-problem`);
  check(inline.includes("unknown field (did you mean 'path'?)"), `inline problem: ${inline}`);
  const listed = await page.textContent("#problems");
  check(listed.includes(`line ${ERROR_LINE}`) && listed.includes("streams.in.input.http_server.pathx"), `problems list: ${listed}`);
  check(await page.textContent("#validity") === "1 problem", "validity does not say 1 problem");
  await page.click(`#problems button:has-text("line ${ERROR_LINE}")`);
  check(await page.evaluate(() => document.activeElement.id) === "source", "the problem link does not focus the editor");
  await shot(page, "02-editor-error");

  step("fix it, change the in mapping, save and deploy");
  const fixed = original.replace("root.job_id = uuid_v4()", 'root.job_id = uuid_v4()\n              root.via = "console"');
  await page.fill("#source", fixed);
  await page.waitForFunction(() => document.getElementById("validity").textContent === "valid");
  check(await page.$$eval("#gutter .problem", (marks) => marks.length) === 0, "a problem mark stayed after the fix");
  await page.click("#save");
  await page.waitForFunction(() => document.getElementById("status").textContent.includes("API streams-demo modified"));
  await shot(page, "03-editor-saved");

  step("push a message and see it in the live tail");
  await page.click('#nav button[data-view="apis"]');
  await page.click('article[data-api="stream-demo"] tr[data-stream="out"] button:has-text("tail")');
  await page.waitForSelector("#view-tail:not([hidden])");
  check(await page.inputValue("#tail-endpoint") === "/stream-demo/get-event", "tail did not preselect get-event");
  await page.fill("#tail-context", `user=${USER}`);
  await page.click("#tail-start");
  await page.waitForFunction(() => document.getElementById("tail-state").textContent.startsWith("watching"));
  await page.selectOption("#push-endpoint", "/stream-demo/push-event");
  await page.fill("#push-context", `user=${USER}`);
  await page.fill("#push-body", '{"message": "hello from the browser"}');
  // The worker that took the save serves it at once, the other within the directory watch's
  // interval: push until the reply shows the saved mapping.
  let sync = null;
  for (const deadline = Date.now() + WAIT; !sync || sync.via !== "console";) {
    check(Date.now() < deadline, `the saved mapping is not served: ${JSON.stringify(sync)}`);
    await page.evaluate(() => { document.getElementById("push-status").textContent = ""; });
    await page.click("#push-send");
    await page.waitForFunction(() => document.getElementById("push-status").textContent === "200 OK");
    sync = JSON.parse(await page.textContent("#push-response"));
    check(sync.message === "hello from the browser" && sync.user_id === USER, `sync response: ${JSON.stringify(sync)}`);
  }
  await page.waitForFunction((jobId) => [...document.querySelectorAll("#tail-messages li code")]
    .some((c) => c.textContent.includes(jobId)), sync.job_id);
  const tailed = JSON.parse(await page.textContent("#tail-messages li code"));
  check(tailed.message === "hello from the browser" && tailed.result === "bar" && tailed.job_id === sync.job_id
    && tailed.via === "console", `tailed (newest first): ${JSON.stringify(tailed)}`);
  await shot(page, "04-live-tail");
  await page.click("#tail-stop");

  step("the live counters show the push");
  await page.click('#nav button[data-view="apis"]');
  await page.waitForFunction(() => {
    const cell = document.querySelector('article[data-api="stream-demo"] tr[data-stream="in"] [data-counter="received"]');
    return cell && Number(cell.textContent) >= 1;
  });

  step("create an API from the seed, then delete it (confirmed)");
  await page.click("#new-api");
  await page.fill("#new-name", "console-copy");
  await page.waitForFunction(() => document.getElementById("validity").textContent === "valid");
  const copy = await page.inputValue("#source");
  check(copy.includes("id: console-copy") && copy.includes("value: /console-copy/") && copy.includes("topic: console-copy-jobs")
    && copy.includes("consumer_group: console-copy-$tyk_context.request_data_user"), "the copy does not have its own name, path, topics and groups");
  await page.click("#save");
  await page.waitForFunction(() => document.getElementById("status").textContent.includes("API console-copy added"));
  await page.click('#nav button[data-view="apis"]');
  await page.waitForSelector('article[data-api="console-copy"] .badge[data-state="active"]');
  await page.click('article[data-api="console-copy"] button:has-text("Edit")');
  await page.waitForFunction(() => document.getElementById("editor-what").textContent.includes("console-copy"));
  let asked = "";
  page.once("dialog", (dialog) => {
    asked = dialog.message();
    dialog.accept();
  });
  await page.click("#delete");
  await page.waitForFunction(() => document.getElementById("status").textContent.includes("API console-copy deleted"));
  check(asked.includes("Delete API console-copy?"), `confirmation asked: ${asked}`);
  await page.waitForSelector('article[data-api="console-copy"]', { state: "detached" });

  step("the playground runs the seed's Worker mapping");
  await page.click('#nav button[data-view="playground"]');
  await page.selectOption("#pg-example", { label: 'seed stream "Worker"' });
  await page.fill("#pg-input", '{"message": "hi"}');
  await page.waitForFunction(() => document.getElementById("pg-output").textContent.includes('"result": "bar"'));
  const output = JSON.parse(await page.textContent("#pg-output"));
  check(output.message === "hi" && output.result === "bar", `playground output: ${JSON.stringify(output)}`);

  step("a mapping error shows the text Benthos prints, caret included");
  await page.fill("#pg-mapping", PG_MAPPING);
  await page.waitForFunction((expected) => document.getElementById("pg-error").textContent === expected, PG_ERROR);
  check(page.url().includes("#playground="), "the playground state is not in the URL");
  await shot(page, "05-playground-error");

  step("the playground link restores the state");
  const link = page.url();
  const second = await context.newPage();
  await second.goto(link);
  await second.fill("#secret", SECRET);
  await second.press("#secret", "Enter");
  await second.waitForSelector("#view-playground:not([hidden])");
  check(await second.inputValue("#pg-mapping") === PG_MAPPING, "the shared link did not restore the mapping");
  await second.waitForFunction((expected) => document.getElementById("pg-error").textContent === expected, PG_ERROR);
  await second.close();

  step("a phone-sized screen: no sideways scrolling");
  await page.setViewportSize({ width: 390, height: 844 });
  await page.click('#nav button[data-view="apis"]');
  await page.waitForSelector('article[data-api="stream-demo"]');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `the page is ${overflow}px wider than a phone screen`);
  await shot(page, "06-phone-apis");
  await page.click('#nav button[data-view="playground"]');
  await shot(page, "07-phone-playground");

  check(failures.length === 0, failures.join("; "));
  console.log("console walkthrough passed");
} catch (err) {
  await shot(page, "failure").catch(() => {});
  console.error(`FAILED: ${err.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
