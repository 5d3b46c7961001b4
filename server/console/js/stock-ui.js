// What the stock, reorder and audit pages share: sections that redraw only when their data
// changed, tables whose rows are kept by key (so a live update neither moves the reader's
// scroll position nor takes keyboard focus away), and form fields with their labels.

import * as api from "./api.js";
import { h, replace } from "./ui.js";

/** Roles that move, count and set thresholds (the API's stock writers). */
export const STOCK_WRITERS = new Set(["dispatcher", "manager", "admin"]);
/** Roles that read every stock location. */
export const STOCK_READERS = new Set([...STOCK_WRITERS, "auditor"]);

export function canWriteStock() {
  return STOCK_WRITERS.has(api.currentUser()?.role);
}

/** A location's page. */
export function locationHref(id) {
  return `#/stock/${encodeURIComponent(id)}`;
}

/** A link to a location's page, showing its id (or `text`). */
export function locationLink(id, text = id) {
  return id ? h("a", { href: locationHref(id), text }) : "—";
}

/**
 * A titled `<section>` whose body is rebuilt only when `sig` changes; the focused control
 * (found again by its `data-focus-key`) and open `<details>` survive the rebuild.
 */
export function section(key, title, { cls = "", hint = null } = {}) {
  const body = h("div", { class: "section-body" });
  const count = h("span", { class: "count" });
  const el = h(
    "section",
    { class: `panel ${cls}`, attrs: { "aria-labelledby": `${key}-title` } },
    h("h2", { id: `${key}-title` }, title, " ", count),
    hint ? h("p", { class: "muted small", text: hint }) : null,
    body,
  );
  let sig = null;
  return {
    el,
    body,
    /** Rebuilds the body with `build()` unless `nextSig` is what it shows already. */
    set(nextSig, build, countText = "") {
      count.textContent = countText;
      if (nextSig === sig) return;
      sig = nextSig;
      keepPlace(body, () => replace(body, build()));
    },
  };
}

/** Runs `redraw` inside `root`, then puts focus and open details back where they were. */
export function keepPlace(root, redraw) {
  const active = document.activeElement;
  const focusKey = root.contains(active) ? active?.dataset?.focusKey : null;
  const open = new Set([...root.querySelectorAll("details[open][data-key]")].map((d) => d.dataset.key));
  redraw();
  for (const d of root.querySelectorAll("details[data-key]")) if (open.has(d.dataset.key)) d.open = true;
  if (focusKey && !root.contains(document.activeElement)) {
    root.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`)?.focus({ preventScroll: true });
  }
}

/**
 * A table in a scrollable, keyboard-reachable region. `rows` are `{ key, cells, cls }`;
 * `update(rows)` on the returned object reconciles the body by key: unchanged rows stay the
 * same DOM nodes, so the browser's scroll anchoring keeps the reader's place when rows arrive
 * above, and a focused control in a kept row keeps its focus.
 */
export function keyedTable(caption, head, { cls = "" } = {}) {
  const tbody = h("tbody");
  const wrap = h(
    "div",
    { class: "table-wrap", tabIndex: 0, attrs: { role: "region", "aria-label": caption } },
    h(
      "table",
      { class: cls },
      h("caption", { class: "visually-hidden", text: caption }),
      h("thead", {}, h("tr", {}, head.map((t) => h("th", { attrs: { scope: "col" }, text: t })))),
      tbody,
    ),
  );
  return {
    el: wrap,
    tbody,
    update(rows) {
      const active = document.activeElement;
      const focusKey = tbody.contains(active) ? active?.dataset?.focusKey : null;
      const focusRow = focusKey ? active.closest("tr")?.dataset.key : null;
      const existing = new Map([...tbody.children].map((tr) => [tr.dataset.key, tr]));
      let i = 0;
      for (const r of rows) {
        const sig = JSON.stringify(r.sig ?? r.cells.map((c) => (c instanceof Node ? c.textContent : c)));
        let tr = existing.get(String(r.key));
        existing.delete(String(r.key));
        if (!tr || tr._sig !== sig || tr.className !== (r.cls ?? "")) {
          const fresh = h("tr", { class: r.cls ?? "", dataset: { key: String(r.key) } }, r.cells.map((c) => h("td", {}, c ?? "—")));
          fresh._sig = sig;
          if (tr) tr.replaceWith(fresh);
          tr = fresh;
        }
        if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] ?? null);
        i += 1;
      }
      for (const stale of existing.values()) stale.remove();
      if (focusKey && !tbody.contains(document.activeElement)) {
        const row = [...tbody.children].find((tr) => tr.dataset.key === focusRow);
        row?.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`)?.focus({ preventScroll: true });
      }
    },
  };
}

/** A labelled form field: `<label>` and `control` (given `id`), with an optional hint. */
export function field(id, text, control, hint = null) {
  control.id = id;
  if (hint) control.setAttribute("aria-describedby", `${id}-hint`);
  return h(
    "div",
    { class: "field" },
    h("label", { attrs: { for: id }, text }),
    control,
    hint ? h("p", { id: `${id}-hint`, class: "hint", text: hint }) : null,
  );
}

/** An `<input>` named `name`. */
export function input(name, props = {}) {
  return h("input", { name, ...props });
}

/** A `<select>` named `name` of `[value, text]` pairs (or plain values). */
export function choice(name, options, { required = true, value = "", empty = null } = {}) {
  const sel = h(
    "select",
    { name, required },
    empty !== null ? h("option", { value: "", text: empty }) : null,
    options.map((o) => {
      const [v, t] = Array.isArray(o) ? o : [o, o];
      return h("option", { value: v, text: t });
    }),
  );
  sel.value = value;
  return sel;
}

/** A `<datalist>` of `[value, text]` pairs, for inputs that suggest but accept anything. */
export function datalist(id, options) {
  return h(
    "datalist",
    { id },
    options.map(([v, t]) => h("option", { value: v, text: t })),
  );
}

/** A quantity as people write it: "−1" with a real minus sign. */
export function num(n) {
  return n < 0 ? `−${Math.abs(n)}` : String(n);
}

/** A change of quantity: "+2", "−1" or "0". */
export function signed(n) {
  if (n > 0) return `+${n}`;
  if (n < 0) return `−${Math.abs(n)}`;
  return "0";
}

/** Splits serials typed one per line or separated by commas. */
export function serialsOf(text) {
  return String(text ?? "")
    .split(/[\n,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The text of a required form value, or an error telling what is missing. */
export function need(value, what) {
  const v = String(value ?? "").trim();
  if (v === "") throw new Error(`Please enter ${what}.`);
  return v;
}

/** A whole number typed in a form (the API says what range it accepts). */
export function whole(value, what) {
  const v = String(value ?? "").trim();
  if (!/^-?\d+$/.test(v)) throw new Error(`Please enter ${what} as a whole number.`);
  return Number(v);
}
