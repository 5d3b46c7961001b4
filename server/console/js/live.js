// One EventSource('/v1/events') per page. A `sync` event names the work orders that changed
// (or none: anything may have changed); the current view refetches what it shows. While a
// dialog is open, changes wait and are handed over, merged, when the last dialog closes.
// Reconnection follows docs/PROTOCOL.md "Live events": exponential backoff with jitter, a
// token refresh on `refresh`, never a fixed interval.

import { refresh, accessSecondsLeft } from "./api.js";

const BASE_RETRY_MS = 2_000;
const MAX_RETRY_MS = 60_000;

let source = null;
let attempt = 0;
let timer = null;
let running = false;
let holds = 0;
let pending = null; // null: nothing waiting; { all: bool, ids: Set, stock: Set }
const listeners = new Set();
const stateListeners = new Set();

/**
 * `fn({ ids, stock })` on every change: `ids` is an array of work-order ids, or null for
 * "anything"; `stock` the stock locations that changed (often none).
 */
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** `fn(state)` with "connecting", "live" or "offline". */
export function onState(fn) {
  stateListeners.add(fn);
  return () => stateListeners.delete(fn);
}

function setState(state) {
  for (const fn of stateListeners) fn(state);
}

/** Opens the stream (after login). */
export function start() {
  if (running) return;
  running = true;
  attempt = 0;
  connect();
}

/** Closes the stream (at logout). */
export function stop() {
  running = false;
  clearTimeout(timer);
  source?.close();
  source = null;
  pending = null;
  setState("offline");
}

function connect() {
  clearTimeout(timer);
  if (!running) return;
  setState("connecting");
  const es = new EventSource("/v1/events", { withCredentials: true });
  source = es;
  es.addEventListener("open", () => {
    attempt = 0;
    setState("live");
  });
  es.addEventListener("sync", (e) => {
    let data = {};
    try {
      data = JSON.parse(e.data);
    } catch {
      // Unknown shapes mean "something changed".
    }
    const ids = data.reason === "changed" && Array.isArray(data.work_orders) ? data.work_orders : null;
    deliver(ids, Array.isArray(data.stock) ? data.stock : []);
  });
  es.addEventListener("refresh", () => {
    // The stream ends before the access token does: new token, then reconnect at once.
    es.close();
    refresh().then(
      () => connect(),
      () => stop(),
    );
  });
  es.addEventListener("error", () => {
    if (es !== source) return;
    // The browser would retry at a fixed interval; we back off with jitter instead.
    es.close();
    setState("offline");
    scheduleReconnect();
  });
}

function scheduleReconnect() {
  if (!running) return;
  const ceiling = Math.min(MAX_RETRY_MS, BASE_RETRY_MS * 2 ** attempt);
  attempt += 1;
  const wait = ceiling / 2 + Math.random() * (ceiling / 2);
  timer = setTimeout(async () => {
    // A stream refused for an expired token looks like any other error from here.
    if (accessSecondsLeft() < 5) {
      try {
        await refresh();
      } catch {
        if (!running) return;
      }
    }
    connect();
  }, wait);
}

function deliver(ids, stock = []) {
  if (holds > 0) {
    pending ??= { all: false, ids: new Set(), stock: new Set() };
    if (ids === null) pending.all = true;
    else for (const id of ids) pending.ids.add(id);
    for (const l of stock) pending.stock.add(l);
    return;
  }
  for (const fn of listeners) fn({ ids, stock });
}

/** Holds changes back (a dialog opened). */
export function hold() {
  holds += 1;
}

/** Lets changes through again; what waited is delivered as one change. */
export function release() {
  holds = Math.max(0, holds - 1);
  if (holds === 0 && pending) {
    const p = pending;
    pending = null;
    deliver(p.all ? null : [...p.ids], [...p.stock]);
  }
}
