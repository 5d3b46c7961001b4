// One stock location (#/stock/<id>): its level per SKU (a van below zero flagged for
// reconciliation), its counts (expected, counted, variance, who and when), and its move
// history (receipts, issues, returns, consumptions with their work order, technician, device
// and serials, linked to the work order's page), with the actions the user's role allows.
// Live: a stock change here, or for a van any synced work order, refetches; rows are kept by
// key so the reader's place stays.

import * as api from "./api.js";
import { h, replace, label, fmtTime, notice, clearNotice, debounce, woLink, hashQuery, setHashQuery } from "./ui.js";
import { section, keyedTable, locationLink, canWriteStock, signed, num, field, choice } from "./stock-ui.js";
import * as forms from "./stock-forms.js";

const enc = encodeURIComponent;
const MOVE_KINDS = ["receipt", "transfer", "return", "consumption", "consumption_reversal", "count_adjustment"];
const MOVES_SHOWN = 200;

/** What a move was, seen from `here`. */
function moveKind(m, here) {
  if (m.kind === "transfer") {
    if (m.to_loc === here) return m.from_loc?.startsWith("van:") && !here.startsWith("van:") ? "Returned from van" : "Issued in";
    return m.to_loc?.startsWith("van:") ? "Issued to van" : "Returned to warehouse";
  }
  if (m.kind === "return") return `Old part returned (${m.disposition ?? "?"})`;
  if (m.kind === "consumption") return "Used on a job";
  if (m.kind === "consumption_reversal") return "Use reversed";
  return label(m.kind);
}

/** The quantity as it changed `here`'s level (returned old parts are not usable stock). */
function moveQty(m, here) {
  if (m.kind === "return") return `${m.qty} (not stock)`;
  return signed(m.to_loc === here ? m.qty : -m.qty);
}

export function mountStockLocation(main, id) {
  let alive = true;
  let data = null; // { location, levels, as_of }
  const writer = canWriteStock();
  const filters = { kind: hashQuery().kind ?? "" };

  const title = h("h1", { text: id });
  const facts = h("p", { class: "wo-status" });
  const toolbar = h("div", { class: "toolbar", attrs: { role: "toolbar", "aria-label": "Actions" } });
  const levels = section("sl-levels", "Levels", { cls: "stock-levels" });
  const counts = section("sl-counts", "Counts", { cls: "stock-counts", hint: "Each counted part: what the ledger expected, what was on the shelf, and the variance posted." });
  const moves = section("sl-moves", "Moves", { cls: "stock-moves", hint: `Newest first, at most ${MOVES_SHOWN}.` });
  const kindFilter = h("form", { class: "filters", attrs: { role: "search", "aria-label": "Filter moves" }, on: { submit: (e) => e.preventDefault() } });
  const root = h(
    "article",
    { class: "stock-location" },
    h("p", { class: "crumbs" }, h("a", { href: "#/stock", text: "← Stock" })),
    h("div", { class: "page-head" }, title, facts),
    toolbar,
    h("div", { class: "stock-grid" }, levels.el, counts.el, moves.el),
  );
  main.append(root);

  const levelTable = keyedTable("Level per part", ["Part", "Name", "Level", "Serials", "Threshold", ...(writer ? ["Actions"] : [])]);
  const countTable = keyedTable("Counts", ["When", "Who", "Part", "Expected", "Counted", "Variance", "Note"]);
  const moveTable = keyedTable("Moves", ["When", "What", "Part", "Quantity", "From", "To", "Work order", "Technician", "Device", "Serials", "By", "Note"]);

  function renderHead() {
    const l = data.location;
    const van = l.kind === "van";
    title.textContent = l.name && l.name !== l.id ? `${l.name} (${l.id})` : l.id;
    const short = data.levels.filter((x) => x.qty < 0).length;
    replace(
      facts,
      h("span", { class: "badge", text: van ? "Van" : "Warehouse" }),
      van ? h("span", { class: "muted", text: ` of ${l.technician}` }) : null,
      short ? [" ", h("span", { class: "badge badge-danger", text: `short of ${short} part${short > 1 ? "s" : ""}: reconcile` })] : null,
      h("span", { class: "muted small", text: ` · levels as of ${fmtTime(data.as_of)}` }),
    );
    if (toolbar.childElementCount) return;
    if (!writer) {
      toolbar.append(h("span", { class: "muted", text: "Your role reads stock; dispatchers, managers and admins move it." }));
      return;
    }
    const button = (text, run) => h("button", { type: "button", text, on: { click: async () => (await run()) && reload() } });
    if (van) {
      toolbar.append(
        button("Issue to this van…", () => forms.transfer({ to: l.id })),
        button("Return to a warehouse…", () => forms.transfer({ from: l.id, back: true })),
      );
    } else {
      toolbar.append(
        button("Receive parts…", () => forms.receive({ location: l.id })),
        button("Issue to a van…", () => forms.transfer({ from: l.id })),
        button("Record a returned old part…", () => forms.returnOldPart({ location: l.id })),
      );
    }
    toolbar.append(
      button("Count…", () => forms.count(data.location, data.levels)),
      button("Set a threshold…", () => forms.threshold({ location: l.id, sku: null })),
    );
  }

  function renderLevels() {
    const list = data.levels;
    levels.set(String(list.length > 0), () => (list.length ? levelTable.el : h("p", { class: "muted", text: "Nothing here yet." })), `· ${list.length}`);
    levelTable.update(
      list.map((l) => ({
        key: l.sku,
        cls: l.qty < 0 ? "row-short" : l.low ? "row-low" : "",
        sig: [l, writer],
        cells: [
          l.sku,
          l.name ?? "—",
          h(
            "span",
            {},
            num(l.qty),
            l.qty < 0 ? [" ", h("span", { class: "badge badge-danger", text: `short by ${-l.qty}: reconcile` })] : null,
            l.qty >= 0 && l.low ? [" ", h("span", { class: "badge badge-warn", text: "low" })] : null,
          ),
          l.serials.length ? l.serials.join(", ") : "—",
          l.min_qty === null ? "—" : `min ${l.min_qty}, up to ${l.reorder_to}`,
          ...(writer
            ? [
                h("button", {
                  type: "button",
                  text: "Threshold…",
                  dataset: { focusKey: "threshold" },
                  attrs: { "aria-label": `Edit the threshold of ${l.sku}` },
                  on: {
                    click: async () => {
                      const res = await forms.threshold({ location: id, sku: l.sku, min_qty: l.min_qty ?? "", reorder_to: l.reorder_to ?? "" });
                      if (res) reload();
                    },
                  },
                }),
              ]
            : []),
        ],
      })),
    );
  }

  function renderCounts(rows) {
    counts.set(String(rows.length > 0), () => (rows.length ? countTable.el : h("p", { class: "muted", text: "Never counted." })), `· ${rows.length}`);
    countTable.update(
      rows.map((r) => ({
        key: `${r.count_id}|${r.sku}`,
        cls: r.variance !== 0 ? "row-variance" : "",
        cells: [
          fmtTime(r.at),
          r.by_user,
          r.sku,
          num(r.expected),
          num(r.counted),
          h("span", { class: `badge ${r.variance < 0 ? "badge-danger" : r.variance > 0 ? "badge-warn" : "badge-ok"}`, text: signed(r.variance) }),
          r.note || "—",
        ],
      })),
    );
  }

  function renderMoveFilter() {
    const sel = choice("kind", MOVE_KINDS.map((k) => [k, label(k)]), { required: false, value: filters.kind, empty: "Every kind" });
    sel.dataset.focusKey = "kind";
    sel.addEventListener("change", () => {
      filters.kind = sel.value;
      setHashQuery(`stock/${enc(id)}`, filters);
      reload();
    });
    replace(kindFilter, field("sl-kind", "Kind of move", sel));
  }

  function renderMoves(list) {
    moves.set(String(list.length > 0), () => [kindFilter, list.length ? moveTable.el : h("p", { class: "muted", text: "No moves." })], `· ${list.length}`);
    moveTable.update(
      list.map((m) => ({
        key: m.id,
        cls: m.short > 0 ? "row-short" : "",
        cells: [
          fmtTime(m.at),
          moveKind(m, id),
          m.sku,
          h("span", {}, moveQty(m, id), m.short > 0 ? [" ", h("span", { class: "badge badge-danger", text: `${m.short} short` })] : null),
          m.from_loc && m.from_loc !== id ? locationLink(m.from_loc) : m.from_loc ? "here" : "—",
          m.to_loc && m.to_loc !== id ? locationLink(m.to_loc) : m.to_loc ? "here" : "—",
          m.wo_id ? woLink(m.wo_id) : "—",
          m.technician ?? "—",
          m.device ? h("span", { class: "device-id", text: m.device.length > 18 ? `${m.device.slice(0, 14)}…` : m.device, attrs: { title: m.device } }) : "—",
          [m.serial ? `new ${m.serial}` : null, m.serial_old ? `old ${m.serial_old}` : null].filter(Boolean).join(" · ") || "—",
          m.by_user,
          m.note || "—",
        ],
      })),
    );
  }

  async function reload() {
    try {
      const [stock, countRows, moveRows] = await Promise.all([
        api.get(`/v1/stock/locations/${enc(id)}`),
        api.get(api.withQuery("/v1/stock/counts", { location: id })),
        api.get(api.withQuery("/v1/stock/moves", { location: id, kind: filters.kind, limit: MOVES_SHOWN })),
      ]);
      if (!alive) return;
      data = stock;
      clearNotice(root);
      renderHead();
      renderLevels();
      renderCounts(countRows);
      renderMoves(moveRows);
    } catch (err) {
      if (!alive || err.status === 401) return;
      if (err.status === 404) notice(root, `No stock location ${id}.`, "error");
      else if (err.status === 403) notice(root, `This stock is not for your role: ${err.message}`, "error");
      else notice(root, `The location could not be loaded: ${err.message}`, "error");
    }
  }

  const reloadSoon = debounce(reload, 300);
  renderMoveFilter();
  reload();
  return {
    // A van's levels move with its technician's synced part lines; a warehouse's do not.
    onChange: ({ ids }) => {
      if (ids === null || id.startsWith("van:")) reloadSoon();
    },
    onStock: (locations) => {
      if (locations.includes(id)) reloadSoon();
    },
    unmount() {
      alive = false;
      reloadSoon.cancel();
    },
  };
}
