// The console page: sign-in, the four views and what links them. A URL ending in
// #secret=... (the one the gateway logs at start) signs in and is then removed from the address
// bar; #playground=... opens the playground with that state.

import { ApiError, call, secret, setSecret } from "./api.js";
import { ApiList } from "./apis.js";
import { Editor } from "./editor.js";
import { Playground, decodeState } from "./playground.js";
import { Tail } from "./tail.js";

const VIEWS = ["signin", "apis", "editor", "tail", "playground"];
const statusLine = document.getElementById("status");

function notify(message, bad = false) {
  statusLine.textContent = message;
  statusLine.className = bad ? "status bad" : "status";
}

function show(view) {
  for (const name of VIEWS) document.getElementById(`view-${name}`).hidden = name !== view;
  for (const button of document.querySelectorAll("#nav [data-view]")) {
    if (button.dataset.view === view) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  playground.active = view === "playground";
  if (view === "playground") {
    playground.changed();
  } else {
    playground.cancel();
    if (view !== "signin" && window.location.hash.startsWith("#playground=")) {
      history.replaceState(null, "", window.location.pathname);
    }
  }
}

const apiList = new ApiList({
  notify,
  onLoaded: (list) => tail.setEndpoints(list),
  onEdit: (id) => openEditor(id),
  onTail: (path) => {
    tail.select("tail", path);
    show("tail");
    document.getElementById("tail-endpoint").focus();
  },
  onPush: (path) => {
    tail.select("push", path);
    show("tail");
    document.getElementById("push-endpoint").focus();
  },
});
const editor = new Editor({
  notify,
  onSaved: () => refresh(),
  onDeleted: () => {
    refresh();
    show("apis");
  },
});
const tail = new Tail({ notify });
const playground = new Playground({ notify });
let examples = null;

async function refresh() {
  await apiList.load();
}

async function openEditor(id) {
  try {
    await editor.open(id);
    show("editor");
    document.getElementById("source").focus();
  } catch (err) {
    notify(`cannot open ${id}: ${err.message}`, true);
  }
}

async function signedIn(fragmentState) {
  document.getElementById("nav").hidden = false;
  await refresh();
  examples = await call("GET", "/tyk/console/examples");
  playground.setExamples(examples.mappings);
  apiList.follow();
  if (fragmentState) {
    playground.load(fragmentState);
    show("playground");
  } else {
    show("apis");
  }
}

async function signIn(value, fragmentState) {
  setSecret(value);
  try {
    await signedIn(fragmentState);
    notify("signed in");
  } catch (err) {
    setSecret("");
    document.getElementById("nav").hidden = true;
    show("signin");
    if (err instanceof ApiError && err.status === 403) notify("That secret is not the gateway's management secret.", true);
    else if (err instanceof ApiError && err.status === 404) notify("The management API is off on this gateway.", true);
    else notify(`sign-in failed: ${err.message}`, true);
  }
}

function fragment() {
  const hash = window.location.hash.slice(1);
  if (hash.startsWith("secret=")) {
    history.replaceState(null, "", window.location.pathname);
    return { secret: decodeURIComponent(hash.slice(7)) };
  }
  if (hash.startsWith("playground=")) return { playground: decodeState(hash.slice(11)) };
  return {};
}

document.getElementById("signin-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = document.getElementById("secret");
  // A shared playground link opened in a new tab asks for the secret first, then opens.
  signIn(input.value, window.location.hash.startsWith("#playground=") ? decodeState(window.location.hash.slice(12)) : null);
  input.value = "";
});
document.getElementById("sign-out").addEventListener("click", () => {
  apiList.stop();
  tail.stop();
  setSecret("");
  document.getElementById("nav").hidden = true;
  show("signin");
  notify("signed out");
});
for (const button of document.querySelectorAll("#nav [data-view]")) {
  button.addEventListener("click", () => show(button.dataset.view));
}
document.getElementById("refresh-apis").addEventListener("click", () => refresh().catch((err) => notify(err.message, true)));
document.getElementById("new-api").addEventListener("click", () => {
  editor.newFromTemplate(examples ? examples.template : "");
  show("editor");
  document.getElementById("new-name").focus();
});

const given = fragment();
if (given.secret || secret()) {
  signIn(given.secret || secret(), given.playground || null);
} else {
  show("signin");
  document.getElementById("secret").focus();
}
