// The console's entry: the session at load, the hash router (#/board, #/technicians,
// #/wo/<id>, #/queues, #/kpi, #/stock, #/stock/<location>, #/reorder, #/audits,
// #/audits/<id>), the header, and the one live stream handed to the view shown.

import * as api from "./api.js";
import * as live from "./live.js";
import { h, replace, announce, label } from "./ui.js";
import { mountLogin } from "./login.js";
import { mountBoard } from "./board.js";
import { mountTechnicians } from "./technicians.js";
import { mountWorkOrder } from "./workorder.js";
import { mountQueues } from "./queues.js";
import { mountKpi } from "./kpi.js";
import { mountStock } from "./stock.js";
import { mountReorder } from "./reorder.js";
import { mountAudits } from "./audits.js";

const ROUTES = {
  board: { title: "Board", mount: mountBoard },
  technicians: { title: "Technicians", mount: mountTechnicians },
  wo: { title: "Work order", mount: mountWorkOrder },
  queues: { title: "Queues", mount: mountQueues },
  kpi: { title: "KPIs", mount: mountKpi },
  stock: { title: "Stock", mount: mountStock },
  reorder: { title: "Reorder list", mount: mountReorder },
  audits: { title: "Audits", mount: mountAudits },
};

const main = document.getElementById("main");
let view = null; // { onChange?, unmount? } of the view shown
let viewKey = null;

function parseHash() {
  const [path] = location.hash.replace(/^#\/?/, "").split("?");
  const [name, ...rest] = path.split("/");
  const route = ROUTES[name] ? name : "board";
  return { route, arg: rest.length ? decodeURIComponent(rest.join("/")) : null };
}

function unmountView() {
  view?.unmount?.();
  view = null;
  viewKey = null;
}

/** Shows the view of the current hash (unless it is already shown). */
function route() {
  if (!api.currentUser()) return;
  const { route: name, arg } = parseHash();
  const key = `${name}/${arg ?? ""}`;
  if (key === viewKey) return;
  unmountView();
  viewKey = key;
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.route === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.title = `${ROUTES[name].title}${arg ? ` ${arg}` : ""} · fieldsync console`;
  main.replaceChildren();
  view = ROUTES[name].mount(main, arg) ?? {};
  // Move focus to the new page's heading, as a page load would for a screen reader.
  const heading = main.querySelector("h1");
  if (heading && document.activeElement !== document.body) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
  window.scrollTo(0, 0);
}

function showLogin(message) {
  unmountView();
  live.stop();
  document.getElementById("nav").hidden = true;
  document.getElementById("who").hidden = true;
  document.title = "Log in · fieldsync console";
  main.replaceChildren();
  mountLogin(main, message);
}

function showConsole(user) {
  // Pages some roles cannot read are left out of their navigation (`data-roles`).
  for (const li of document.querySelectorAll("#nav li[data-roles]")) {
    li.hidden = !li.dataset.roles.split(" ").includes(user.role);
  }
  document.getElementById("nav").hidden = false;
  document.getElementById("who").hidden = false;
  replace(
    document.getElementById("who-name"),
    h("span", { class: "who-user", text: user.name || user.id }),
    " ",
    h("span", { class: "who-role", text: `(${label(user.role)})` }),
  );
  live.start();
  viewKey = null;
  route();
}

api.onSession((user, why) => {
  if (user) {
    if (!document.getElementById("who").hidden && viewKey) return; // a refresh: nothing to redraw
    showConsole(user);
  } else {
    showLogin(why);
  }
});

live.onChange(({ ids, stock }) => {
  // Only stock moved: the views that show stock hear of it (`onStock`), the others not.
  if (ids === null || ids.length > 0) view?.onChange?.({ ids });
  if (stock.length > 0) view?.onStock?.(stock);
});

live.onState((state) => {
  const text = { live: "live", connecting: "connecting", offline: "reconnecting" }[state] ?? state;
  const el = document.getElementById("live-state");
  el.dataset.state = state;
  document.getElementById("live-text").textContent = text;
});

document.getElementById("logout").addEventListener("click", async () => {
  try {
    await api.logout();
    announce("Logged out.");
  } catch {
    // The session is gone here either way.
  }
});

window.addEventListener("hashchange", route);

api.loadSession().then(
  (user) => {
    if (!user) showLogin(null);
  },
  // An HTTP answer other than the session means no session; no answer at all, no server.
  (err) => showLogin(err instanceof api.ApiError ? null : `The server could not be reached (${err.message}). Reload to try again.`),
);
