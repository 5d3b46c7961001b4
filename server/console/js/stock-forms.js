// The stock pages' forms, each a dialog that posts to the stock API and shows, in the form,
// whatever the API refuses (an unknown SKU, more than the warehouse holds, a serial already in
// stock…) in the API's own words. Each resolves with the server's answer, or null when dismissed.

import * as api from "./api.js";
import { h, label, announce } from "./ui.js";
import { formDialog } from "./dialog.js";
import { field, input, choice, datalist, serialsOf, need, whole, signed } from "./stock-ui.js";

const enc = encodeURIComponent;

/**
 * What the forms offer to choose from: the parts catalogue, the locations, and every
 * technician's van (a van is created by its first issue). Fetched when a form opens.
 */
export async function loadChoices() {
  const [parts, locations, techs] = await Promise.all([
    api.get("/v1/parts").catch(() => []),
    api.get("/v1/stock/locations"),
    api.get("/v1/technicians").catch(() => []),
  ]);
  const warehouses = locations.filter((l) => l.kind === "warehouse");
  const vans = new Map(locations.filter((l) => l.kind === "van").map((l) => [l.id, l.technician ?? l.id]));
  for (const t of techs) if (t.active !== false && !vans.has(`van:${t.id}`)) vans.set(`van:${t.id}`, t.id);
  return {
    parts: parts.filter((p) => p.active !== 0 && p.active !== false),
    warehouses: warehouses.map((w) => [w.id, w.name && w.name !== w.id ? `${w.name} (${w.id})` : w.id]),
    vans: [...vans].sort((a, b) => a[1].localeCompare(b[1])).map(([id, tech]) => [id, `${tech}'s van (${id})`]),
  };
}

function skuField(c, value = "") {
  return [
    field("sf-sku", "Part (SKU)", input("sku", { required: true, value, autocomplete: "off", attrs: { list: "sf-parts" } }), "A SKU of the parts catalogue."),
    datalist("sf-parts", c.parts.map((p) => [p.sku, `${p.name} (${p.sku})`])),
  ];
}

function qtyField(text = "Quantity") {
  return field("sf-qty", text, input("qty", { type: "number", min: 1, step: 1, required: true, inputMode: "numeric" }));
}

function serialsField() {
  return field(
    "sf-serials",
    "Serial numbers (optional)",
    h("textarea", { name: "serials", rows: 2 }),
    "One per unit, one per line or separated by commas; leave empty for parts without serials.",
  );
}

function noteField() {
  return field("sf-note", "Note (optional)", h("textarea", { name: "note", rows: 2, maxLength: 1000 }));
}

function levelsText(res) {
  return (res.levels ?? []).map((l) => `${l.location} now holds ${l.qty} of ${l.sku}`).join("; ");
}

/** Receives parts into a warehouse. */
export async function receive({ location = "" } = {}) {
  const c = await loadChoices();
  const res = await formDialog({
    title: "Receive parts",
    intro: "Parts delivered into a warehouse.",
    fields: () => [
      field("sf-location", "Warehouse", choice("location", c.warehouses, { value: location, empty: "Choose a warehouse" })),
      skuField(c),
      qtyField(),
      serialsField(),
      noteField(),
    ],
    submitText: "Receive",
    submit: (fd) =>
      api.post("/v1/stock/receipts", {
        location: need(fd.get("location"), "a warehouse"),
        sku: need(fd.get("sku"), "a SKU"),
        qty: whole(fd.get("qty"), "the quantity"),
        serials: serialsOf(fd.get("serials")),
        note: fd.get("note") || null,
      }),
  });
  if (res) announce(`Received. ${levelsText(res)}.`);
  return res;
}

/**
 * Moves parts between locations: issues them from a warehouse to a technician's van, or
 * returns unused parts from a van to a warehouse (`back`).
 */
export async function transfer({ from = "", to = "", back = false } = {}) {
  const c = await loadChoices();
  const [fromChoices, toChoices] = back ? [c.vans, c.warehouses] : [c.warehouses, c.vans];
  const res = await formDialog({
    title: back ? "Return parts to a warehouse" : "Issue parts to a van",
    intro: back ? "Unused parts from a technician's van back into a warehouse." : "Parts from a warehouse into a technician's van.",
    fields: () => [
      field("sf-from", "From", choice("from", fromChoices, { value: from, empty: back ? "Choose a van" : "Choose a warehouse" })),
      field("sf-to", "To", choice("to", toChoices, { value: to, empty: back ? "Choose a warehouse" : "Choose a van" })),
      skuField(c),
      qtyField(),
      serialsField(),
      noteField(),
    ],
    submitText: back ? "Return to warehouse" : "Issue",
    submit: (fd) =>
      api.post("/v1/stock/transfers", {
        from: need(fd.get("from"), "where the parts are"),
        to: need(fd.get("to"), "where they go"),
        sku: need(fd.get("sku"), "a SKU"),
        qty: whole(fd.get("qty"), "the quantity"),
        serials: serialsOf(fd.get("serials")),
        note: fd.get("note") || null,
      }),
  });
  if (res) announce(`${back ? "Returned" : "Issued"}. ${levelsText(res)}.`);
  return res;
}

/** Records a removed old part brought back to a warehouse, by its serial, for repair or scrap. */
export async function returnOldPart({ location = "", workOrder = "" } = {}) {
  const c = await loadChoices();
  const res = await formDialog({
    title: "Record a returned old part",
    intro: "A part removed on a job, brought back by its serial. It goes to repair or scrap, not into usable stock.",
    fields: () => [
      field("sf-location", "Warehouse", choice("location", c.warehouses, { value: location, empty: "Choose a warehouse" })),
      skuField(c),
      field("sf-serial", "Serial of the removed part", input("serial", { required: true, maxLength: 128, autocomplete: "off" })),
      h(
        "fieldset",
        { class: "field" },
        h("legend", { text: "Goes to" }),
        ["repair", "scrap"].map((d, i) =>
          h("label", { class: "choice" }, h("input", { type: "radio", name: "disposition", value: d, required: true, checked: i === 0 }), ` ${label(d)}`),
        ),
      ),
      field("sf-wo", "Work order (optional)", input("work_order", { value: workOrder, autocomplete: "off" }), "Found from the serial when left empty."),
      noteField(),
    ],
    submitText: "Record return",
    submit: (fd) =>
      api.post("/v1/stock/returns", {
        location: need(fd.get("location"), "a warehouse"),
        sku: need(fd.get("sku"), "a SKU"),
        serial: need(fd.get("serial"), "the serial"),
        disposition: fd.get("disposition"),
        work_order: String(fd.get("work_order") ?? "").trim() || null,
        note: fd.get("note") || null,
      }),
  });
  if (res) announce(`Return recorded${res.moves?.[0]?.wo_id ? ` against ${res.moves[0].wo_id}` : ""}.`);
  return res;
}

/**
 * Counts a location: each SKU it holds with what the ledger expects, a box for what is on
 * the shelf, and one more line for a SKU found that it should not hold. Only filled boxes
 * are sent.
 */
export async function count(loc, levels, { only = null } = {}) {
  const c = await loadChoices();
  const shown = only ? levels.filter((l) => l.sku === only) : levels;
  const res = await formDialog({
    title: `Count ${loc.name && loc.name !== loc.id ? loc.name : loc.id}`,
    intro: "Enter what is on the shelf; the difference to what was expected is recorded as the variance and the level becomes your count.",
    fields: () => [
      shown.length
        ? h(
            "div",
            { class: "count-lines" },
            shown.map((l, i) =>
              field(
                `sf-count-${i}`,
                `${l.sku}${l.name ? ` (${l.name})` : ""}: counted`,
                input(`count:${l.sku}`, { type: "number", min: 0, step: 1, inputMode: "numeric" }),
                `Expected ${l.qty}.`,
              ),
            ),
          )
        : h("p", { class: "muted", text: "Nothing is expected here." }),
      h(
        "fieldset",
        { class: "field" },
        h("legend", { text: "Another part found here (optional)" }),
        skuField(c).map((n) => {
          if (n.querySelector) n.querySelector("input")?.removeAttribute("required");
          return n;
        }),
        field("sf-extra-count", "Counted", input("extra_count", { type: "number", min: 0, step: 1, inputMode: "numeric" })),
      ),
      noteField(),
    ],
    submitText: "Record count",
    submit: (fd) => {
      const items = [];
      for (const [k, v] of fd.entries()) {
        if (k.startsWith("count:") && String(v).trim() !== "") items.push({ sku: k.slice(6), counted: whole(v, `the count of ${k.slice(6)}`) });
      }
      const extra = String(fd.get("sku") ?? "").trim();
      if (extra) items.push({ sku: extra, counted: whole(fd.get("extra_count"), `the count of ${extra}`) });
      return api.post("/v1/stock/counts", { location: loc.id, items, note: fd.get("note") || null });
    },
  });
  if (res) announce(`Count recorded: ${res.map((r) => `${r.sku} variance ${signed(r.variance)}`).join(", ")}.`);
  return res;
}

/** Sets a low-stock threshold; `location` and `sku` fixed when given, chosen otherwise. */
export async function threshold({ location = null, sku = null, min_qty = "", reorder_to = "" } = {}) {
  const c = location && sku ? null : await loadChoices();
  const res = await formDialog({
    title: location && sku ? `Threshold of ${sku} at ${location}` : "Set a low-stock threshold",
    intro: "Below the minimum, the part is on the reorder list, with what it takes to reach the reorder level.",
    fields: () => [
      c ? field("sf-location", "Location", choice("location", [...c.warehouses, ...c.vans], { empty: "Choose a location" })) : null,
      c ? skuField(c) : null,
      field("sf-min", "Minimum", input("min_qty", { type: "number", min: 0, step: 1, required: true, value: String(min_qty), inputMode: "numeric" })),
      field("sf-to", "Reorder up to", input("reorder_to", { type: "number", min: 0, step: 1, required: true, value: String(reorder_to), inputMode: "numeric" })),
    ],
    submitText: "Save threshold",
    submit: (fd) => {
      const loc = location ?? need(fd.get("location"), "a location");
      const part = sku ?? need(fd.get("sku"), "a SKU");
      return api.request("PUT", `/v1/stock/thresholds/${enc(loc)}/${enc(part)}`, {
        min_qty: whole(fd.get("min_qty"), "the minimum"),
        reorder_to: whole(fd.get("reorder_to"), "the reorder level"),
      });
    },
  });
  if (res) announce(`Threshold of ${res.sku} at ${res.location}: minimum ${res.min_qty}, reorder up to ${res.reorder_to}.`);
  return res;
}

/** Creates a warehouse. */
export async function newWarehouse() {
  const res = await formDialog({
    title: "New warehouse",
    fields: () => [
      field("sf-id", "Id", input("id", { required: true, maxLength: 128, autocomplete: "off" }), "Letters, digits and - _ . : @ (vans are created by their first issue)."),
      field("sf-name", "Name", input("name", { required: true, maxLength: 200 })),
    ],
    submitText: "Create",
    submit: (fd) => api.post("/v1/stock/locations", { id: need(fd.get("id"), "an id"), name: need(fd.get("name"), "a name") }),
  });
  if (res) announce(`Warehouse ${res.id} created.`);
  return res;
}
