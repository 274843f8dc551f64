// One small page interface for the console walkthrough, with a driver per browser: Chromium
// through playwright-core (the DevTools protocol) and Firefox through puppeteer-core (WebDriver
// BiDi; playwright-core cannot drive a stock Firefox). The walkthrough's steps are written once
// against this interface. Waiting is done here by polling page.evaluate(): neither driver's own
// waiting helpers are used, as they compile functions inside the page, which the console's
// Content-Security-Policy forbids (no 'unsafe-eval'); an evaluation from the driver is not
// subject to it, so the page runs under its real policy in both browsers.

const POLL_MS = 50;

async function poll(what, timeout, probe) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

// What both drivers share: everything written in terms of evaluate() and a few primitives
// (rawClick, rawFill, key, screenshot, setViewport, url, goto, close, dialogs).
class Page {
  constructor(native, timeout) {
    this.native = native;
    this.timeout = timeout;
  }

  evaluate(fn, arg) {
    return this.native.evaluate(fn, arg);
  }

  waitUntil(fn, arg, what = String(fn)) {
    return poll(what, this.timeout, () => this.evaluate(fn, arg));
  }

  // state: "visible" (present and rendered), "attached" or "detached".
  waitFor(selector, state = "visible") {
    return this.waitUntil(([sel, want]) => {
      const el = document.querySelector(sel);
      if (want === "detached") return el === null;
      if (want === "attached") return el !== null;
      return el !== null && el.getClientRects().length > 0;
    }, [selector, state], `${selector} ${state}`);
  }

  // Marks the first visible element matching selector (and containing text, when given) so the
  // driver can find it with a plain selector; returns that selector.
  async locate(selector, text = null) {
    const mark = `w${Math.random().toString(36).slice(2)}`;
    await this.waitUntil(([sel, txt, id]) => {
      for (const old of document.querySelectorAll("[data-walkthrough]")) old.removeAttribute("data-walkthrough");
      const el = [...document.querySelectorAll(sel)]
        .find((e) => e.getClientRects().length > 0 && (txt === null || e.textContent.includes(txt)));
      if (!el) return false;
      el.setAttribute("data-walkthrough", id);
      return true;
    }, [selector, text, mark], text === null ? selector : `${selector} with "${text}"`);
    return `[data-walkthrough="${mark}"]`;
  }

  // The element may be replaced between finding it and clicking it (the API list is drawn
  // again when the served APIs change): then it is found again, until the timeout.
  async click(selector, text = null) {
    const deadline = Date.now() + this.timeout;
    for (;;) {
      const found = await this.locate(selector, text);
      try {
        await this.rawClick(found);
        return;
      } catch (err) {
        const gone = await this.evaluate((sel) => document.querySelector(sel) === null, found);
        if (!gone || Date.now() > deadline) throw err;
      }
    }
  }

  async fill(selector, value) {
    await this.rawFill(await this.locate(selector), value);
  }

  text(selector) {
    return this.evaluate((sel) => document.querySelector(sel)?.textContent ?? null, selector);
  }

  value(selector) {
    return this.evaluate((sel) => document.querySelector(sel)?.value ?? null, selector);
  }

  attr(selector, name) {
    return this.evaluate(([sel, n]) => document.querySelector(sel)?.getAttribute(n) ?? null, [selector, name]);
  }

  focusedId() {
    return this.evaluate(() => document.activeElement?.id ?? "");
  }

  // Chooses an option of a <select> by its value or its label, as a user picking it would.
  async select(selector, { value = null, label = null }) {
    const chosen = await this.evaluate(([sel, v, l]) => {
      const select = document.querySelector(sel);
      const option = [...select.options].find((o) => (v !== null ? o.value === v : o.label === l));
      if (!option) return null;
      select.value = option.value;
      select.dispatchEvent(new Event("input", { bubbles: true }));
      select.dispatchEvent(new Event("change", { bubbles: true }));
      return option.value;
    }, [selector, value, label]);
    if (chosen === null) throw new Error(`${selector} has no option ${value ?? label}`);
  }

  // Presses keys on the focused element: "Tab", "Shift+Tab", "Control+s", " ".
  async press(combo) {
    const keys = combo === "+" ? ["+"] : combo.split("+");
    const modifiers = keys.slice(0, -1);
    for (const m of modifiers) await this.native.keyboard.down(m);
    await this.native.keyboard.press(keys[keys.length - 1]);
    for (const m of modifiers.reverse()) await this.native.keyboard.up(m);
  }

  type(text) {
    return this.native.keyboard.type(text);
  }

  url() {
    return this.native.url();
  }

  async goto(url) {
    await this.native.goto(url);
  }

  screenshot(path) {
    return this.native.screenshot({ path, fullPage: true });
  }

  // Accepts the next dialog (confirm) and resolves to its text.
  acceptNextDialog() {
    return new Promise((resolve) => {
      this.native.once("dialog", async (dialog) => {
        const message = dialog.message();
        await dialog.accept();
        resolve(message);
      });
    });
  }

  onProblems(report) {
    this.native.on("pageerror", (err) => report(`page error: ${err.message}`));
    this.native.on("console", (msg) => {
      if (msg.type() === "error") console.log(`browser console: ${msg.text()}`);
    });
  }

  close() {
    return this.native.close();
  }
}

class PlaywrightPage extends Page {
  rawClick(selector) {
    return this.native.click(selector, { timeout: 2000 });
  }

  // Playwright's fill focuses the field, selects its text and inserts the new text, as a paste.
  rawFill(selector, value) {
    return this.native.fill(selector, value);
  }

  setViewport(width, height) {
    return this.native.setViewportSize({ width, height });
  }
}

class PuppeteerPage extends Page {
  rawClick(selector) {
    return this.native.click(selector);
  }

  // As Playwright's fill: focus, select the field's text, insert the new text at once (the
  // browser's own insertText edit command, which fires the input events a paste would).
  async rawFill(selector, value) {
    await this.native.focus(selector);
    await this.native.evaluate(([sel, text]) => {
      const field = document.querySelector(sel);
      field.select();
      if (text === "") document.execCommand("delete");
      else document.execCommand("insertText", false, text);
    }, [selector, value]);
  }

  setViewport(width, height) {
    return this.native.setViewport({ width, height });
  }
}

export async function launch(name, { width, height, timeout }) {
  if (name === "chromium") {
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-dev-shm-usage"],
    });
    const context = await browser.newContext({ viewport: { width, height } });
    const version = browser.version();
    return {
      version: `chromium ${version}`,
      async newPage() {
        const native = await context.newPage();
        native.setDefaultTimeout(timeout);
        return new PlaywrightPage(native, timeout);
      },
      close: () => browser.close(),
    };
  }
  if (name === "firefox") {
    const { default: puppeteer } = await import("puppeteer-core");
    const browser = await puppeteer.launch({
      browser: "firefox",
      protocol: "webDriverBiDi",
      executablePath: process.env.FIREFOX || "/usr/bin/firefox-esr",
      headless: true,
      defaultViewport: { width, height },
    });
    return {
      version: await browser.version(),
      async newPage() {
        const native = await browser.newPage();
        native.setDefaultTimeout(timeout);
        return new PuppeteerPage(native, timeout);
      },
      close: () => browser.close(),
    };
  }
  throw new Error(`no driver for browser ${name} (chromium or firefox)`);
}
