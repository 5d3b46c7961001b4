// Small DOM helpers shared by every view. Data always goes into the page as text
// (textContent, attributes), never as HTML: customer names and notes come from the field.

/**
 * Builds an element. `props`: `class`, `text`, `attrs` (an object of attributes), `dataset`,
 * `on` (event name → handler), and any other key is set as a property (e.g. `type`, `value`,
 * `hidden`, `disabled`). Children: nodes, strings (as text), arrays, or null/false (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "attrs") for (const [a, v] of Object.entries(value)) setAttr(el, a, v);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "on") for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    else el[key] = value;
  }
  append(el, children);
  return el;
}

function setAttr(el, name, value) {
  if (value === false || value === null || value === undefined) el.removeAttribute(name);
  else el.setAttribute(name, value === true ? "" : String(value));
}

/** Appends children (nodes, strings, nested arrays; null and false are skipped). */
export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces every child of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** Sets `el.textContent` only when it differs (no needless layout work on live updates). */
export function setText(el, text) {
  const t = text ?? "";
  if (el.textContent !== t) el.textContent = t;
}

/** "pending_dispatch" → "Pending dispatch". */
export function label(code) {
  if (!code) return "";
  const s = String(code).replaceAll("_", " ").replaceAll("-", " ").replace(/\bvip\b/g, "VIP");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" });
const clockFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

/** A point in time (ms since the epoch): "14:05" today, else "Tue, Dec 1, 14:05". */
export function fmtTime(ms) {
  if (ms === null || ms === undefined) return "—";
  const d = new Date(ms);
  const time = clockFmt.format(d);
  return d.toDateString() === new Date().toDateString() ? time : `${dayFmt.format(d)}, ${time}`;
}

/** Only the local hour and minute. */
export function fmtClock(ms) {
  return ms === null || ms === undefined ? "—" : clockFmt.format(new Date(ms));
}

/** A duration in ms as "2d 3h", "1h 5m", "12m" or "40s". */
export function fmtDuration(ms) {
  const s = Math.max(0, Math.round(Math.abs(ms) / 1000));
  const d = Math.floor(s / 86400);
  const hr = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return hr > 0 ? `${d}d ${hr}h` : `${d}d`;
  if (hr > 0) return m > 0 ? `${hr}h ${m}m` : `${hr}h`;
  if (m > 0) return `${m}m`;
  return `${s}s`;
}

/** A deadline against now: "in 1h 5m" or "12m overdue". */
export function countdown(dueAt, now) {
  const left = dueAt - now;
  return left >= 0 ? `in ${fmtDuration(left)}` : `${fmtDuration(left)} overdue`;
}

/** "3m ago" (or "just now"). */
export function ago(ms, now) {
  const d = now - ms;
  return d < 30_000 ? "just now" : `${fmtDuration(d)} ago`;
}

/** Percent with one decimal, or "—". */
export function pct(rate) {
  return rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(1)} %`;
}

/** Cents as money without a currency (the server keeps none). */
export function money(cents) {
  return (cents / 100).toFixed(2);
}

/** Says `message` to screen-reader users (and nobody else). */
export function announce(message) {
  const el = document.getElementById("announcer");
  if (!el) return;
  el.textContent = "";
  // A fresh text node after a tick, so that the same message twice is read twice.
  setTimeout(() => {
    el.textContent = message;
  }, 50);
}

/** A notice at the top of `container` (replacing an earlier one); `kind` is info or error. */
export function notice(container, message, kind = "info") {
  let box = container.querySelector(":scope > .notice");
  if (!box) {
    box = h("div", { class: "notice" });
    container.prepend(box);
  }
  box.className = `notice notice-${kind}`;
  box.setAttribute("role", kind === "error" ? "alert" : "status");
  box.textContent = message;
  return box;
}

/** Removes the notice of `container`, if any. */
export function clearNotice(container) {
  container.querySelector(":scope > .notice")?.remove();
}

/** Debounces `fn` by `ms`; the returned function has `.cancel()`. */
export function debounce(fn, ms) {
  let t = null;
  const run = (...args) => {
    clearTimeout(t);
    t = setTimeout(() => {
      t = null;
      fn(...args);
    }, ms);
  };
  run.cancel = () => clearTimeout(t);
  return run;
}

/** A "Loading…" paragraph. */
export function loading(what = "Loading…") {
  return h("p", { class: "loading", text: what });
}

/** A select with a leading "any" option; `options` are values or [value, text] pairs. */
export function select(id, text, options, value, anyText = "Any") {
  const sel = h(
    "select",
    { id, name: id },
    h("option", { value: "", text: anyText }),
    options.map((o) => {
      const [v, t] = Array.isArray(o) ? o : [o, label(o)];
      return h("option", { value: v, text: t });
    }),
  );
  sel.value = value ?? "";
  return h("div", { class: "field" }, h("label", { attrs: { for: id }, text }), sel);
}

/** A link to a work order's page. */
export function woLink(id, text = id) {
  return h("a", { href: `#/wo/${encodeURIComponent(id)}`, text });
}

/** The hash route's query as an object (e.g. `#/board?region=north`). */
export function hashQuery() {
  const q = location.hash.split("?")[1] ?? "";
  return Object.fromEntries(new URLSearchParams(q));
}

/** Replaces the hash route's query without a navigation (filters survive a reload). */
export function setHashQuery(path, query) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== "" && v !== null && v !== undefined) params.set(k, v);
  const qs = params.toString();
  const hash = `#/${path}${qs ? `?${qs}` : ""}`;
  if (location.hash !== hash) history.replaceState(null, "", hash);
}
