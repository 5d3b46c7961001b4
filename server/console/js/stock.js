// Stock: the vans short of parts (used offline before they were issued, flagged until a count
// or an issue reconciles them), every warehouse with its level per SKU, every van with its
// flags, and the moves the user's role allows (receive, issue, return, new warehouse). Live:
// any stock move, and any synced work order (its part lines are consumptions), refetches.

import * as api from "./api.js";
import { h, fmtTime, notice, clearNotice, debounce, woLink } from "./ui.js";
import { section, keyedTable, locationLink, canWriteStock, signed, num } from "./stock-ui.js";
import * as forms from "./stock-forms.js";
import { mountStockLocation } from "./stock-location.js";

/** Warehouses whose levels the overview shows (more are a click away). */
const MAX_WAREHOUSES = 20;

export function mountStock(main, arg) {
  if (arg) return mountStockLocation(main, arg);
  let alive = true;
  const writer = canWriteStock();

  const toolbar = h("div", { class: "toolbar", attrs: { role: "toolbar", "aria-label": "Stock actions" } });
  const shortfalls = section("st-short", "Vans short of parts", {
    cls: "stock-shortfalls",
    hint: "Parts used on jobs, offline, beyond what was issued to the van. A count or an issue that covers the difference reconciles it.",
  });
  const warehouses = section("st-wh", "Warehouses", { cls: "stock-warehouses" });
  const vans = section("st-vans", "Vans", { cls: "stock-vans" });
  const root = h(
    "div",
    { class: "stock" },
    h("div", { class: "page-head" }, h("h1", { text: "Stock" }), h("a", { href: "#/reorder", text: "Reorder list →" })),
    toolbar,
    h("div", { class: "stock-grid" }, shortfalls.el, warehouses.el, vans.el),
  );
  main.append(root);

  if (writer) {
    const button = (text, key, run) =>
      h("button", {
        type: "button",
        text,
        dataset: { focusKey: key },
        on: { click: async () => (await run()) && reload() },
      });
    toolbar.append(
      button("Receive parts…", "receive", () => forms.receive()),
      button("Issue to a van…", "issue", () => forms.transfer()),
      button("Return from a van…", "back", () => forms.transfer({ back: true })),
      button("Record a returned old part…", "return", () => forms.returnOldPart()),
      button("New warehouse…", "warehouse", () => forms.newWarehouse()),
    );
  } else toolbar.append(h("span", { class: "muted", text: "Your role reads stock; dispatchers, managers and admins move it." }));

  const shortTable = keyedTable("Vans short of parts", ["Van", "Technician", "Part", "Level", "Used short on", ...(writer ? ["Reconcile"] : [])]);
  const vanTable = keyedTable("Vans", ["Van", "Technician", "Flags"]);

  function renderShortfalls(list) {
    shortfalls.set(JSON.stringify(list.length > 0), () => (list.length ? shortTable.el : h("p", { class: "muted", text: "No van is short." })), `· ${list.length}`);
    shortTable.update(
      list.map((s) => ({
        key: `${s.location}|${s.sku}`,
        cls: "row-short",
        sig: s,
        cells: [
          locationLink(s.location),
          s.technician ?? "—",
          s.sku,
          h("span", { class: "badge badge-danger", text: `${signed(s.qty)} short` }),
          s.consumptions.length
            ? h(
                "ul",
                { class: "plain-list" },
                s.consumptions.map((m) =>
                  h("li", {}, woLink(m.wo_id), ` ${m.technician ?? ""}, ${m.short} short, ${fmtTime(m.at)}${m.serial ? ` · serial ${m.serial}` : ""}`),
                ),
              )
            : "—",
          ...(writer
            ? [
                h("button", {
                  type: "button",
                  text: "Count…",
                  dataset: { focusKey: "count" },
                  attrs: { "aria-label": `Count ${s.sku} in ${s.location}` },
                  on: { click: () => countShort(s) },
                }),
              ]
            : []),
        ],
      })),
    );
  }

  async function countShort(s) {
    try {
      const stock = await api.get(`/v1/stock/locations/${encodeURIComponent(s.location)}`);
      if (await forms.count(stock.location, stock.levels, { only: s.sku })) reload();
    } catch (err) {
      notice(root, `The van could not be loaded: ${err.message}`, "error");
    }
  }

  // One block per warehouse, kept by id: a live update refills rows in place.
  const whList = h("div", { class: "warehouse-list" });
  const whBlocks = new Map();

  function warehouseBlock(w) {
    const table = keyedTable(`Levels at ${w.id}`, ["Part", "Name", "Level", "Serials", "Threshold"]);
    const empty = h("p", { class: "muted", text: "Empty." });
    const el = h(
      "div",
      { class: "warehouse", dataset: { id: w.id } },
      h("h3", {}, locationLink(w.id, w.name && w.name !== w.id ? `${w.name} (${w.id})` : w.id)),
      table.el,
      empty,
    );
    return { el, table, empty };
  }

  function renderWarehouses(list) {
    warehouses.set(
      String(list.length > 0),
      () => (list.length ? whList : h("p", { class: "muted", text: writer ? "No warehouse yet: create one, then receive parts into it." : "No warehouse yet." })),
      `· ${list.length}`,
    );
    const stale = new Set(whBlocks.keys());
    list.forEach(({ location: w, levels }, i) => {
      stale.delete(w.id);
      let b = whBlocks.get(w.id);
      if (!b) whBlocks.set(w.id, (b = warehouseBlock(w)));
      if (whList.children[i] !== b.el) whList.insertBefore(b.el, whList.children[i] ?? null);
      b.table.el.hidden = levels.length === 0;
      b.empty.hidden = levels.length > 0;
      b.table.update(
        levels.map((l) => ({
          key: l.sku,
          cls: l.qty < 0 ? "row-short" : l.low ? "row-low" : "",
          cells: [
            l.sku,
            l.name ?? "—",
            h("span", {}, num(l.qty), l.low ? [" ", h("span", { class: "badge badge-warn", text: "low" })] : null),
            l.serials.length ? l.serials.join(", ") : "—",
            l.min_qty === null ? "—" : `min ${l.min_qty}, up to ${l.reorder_to}`,
          ],
        })),
      );
    });
    for (const id of stale) {
      whBlocks.get(id).el.remove();
      whBlocks.delete(id);
    }
  }

  function renderVans(list, short, low) {
    vans.set(JSON.stringify(list.length > 0), () => (list.length ? vanTable.el : h("p", { class: "muted", text: "No van yet: a van is created by the first issue to its technician." })), `· ${list.length}`);
    vanTable.update(
      list.map((v) => {
        const s = short.get(v.id) ?? 0;
        const l = low.get(v.id) ?? 0;
        return {
          key: v.id,
          cls: s ? "row-short" : "",
          cells: [
            locationLink(v.id),
            v.technician ?? "—",
            h(
              "span",
              {},
              s ? h("span", { class: "badge badge-danger", text: `short: ${s} part${s > 1 ? "s" : ""}` }) : null,
              l ? h("span", { class: "badge badge-warn", text: `low: ${l}` }) : null,
              !s && !l ? h("span", { class: "muted", text: "ok" }) : null,
            ),
          ],
        };
      }),
    );
  }

  async function reload() {
    try {
      const [locations, short, reorder] = await Promise.all([
        api.get("/v1/stock/locations"),
        api.get("/v1/stock/shortfalls"),
        api.get("/v1/stock/reorder"),
      ]);
      const wh = locations.filter((l) => l.kind === "warehouse").slice(0, MAX_WAREHOUSES);
      const levels = await Promise.all(wh.map((w) => api.get(`/v1/stock/locations/${encodeURIComponent(w.id)}`)));
      if (!alive) return;
      clearNotice(root);
      renderShortfalls(short);
      renderWarehouses(levels);
      const count = (rows) => rows.reduce((m, r) => m.set(r.location, (m.get(r.location) ?? 0) + 1), new Map());
      renderVans(
        locations.filter((l) => l.kind === "van"),
        count(short),
        count(reorder),
      );
    } catch (err) {
      if (!alive || err.status === 401) return;
      notice(root, err.status === 403 ? `Stock is not for your role: ${err.message}` : `Stock could not be loaded: ${err.message}`, "error");
    }
  }

  const reloadSoon = debounce(reload, 300);
  reload();
  return {
    onChange: () => reloadSoon(),
    onStock: () => reloadSoon(),
    unmount() {
      alive = false;
      reloadSoon.cancel();
    },
  };
}
