// The reorder list: every part below its location's low-stock threshold, with how many to
// order (or issue) to reach the reorder level; thresholds editable by the roles the API lets
// set them. Live: a stock change or a synced work order (a consumption) refetches.

import * as api from "./api.js";
import { h, notice, clearNotice, debounce } from "./ui.js";
import { section, keyedTable, locationLink, canWriteStock, num } from "./stock-ui.js";
import * as forms from "./stock-forms.js";

export function mountReorder(main) {
  let alive = true;
  const writer = canWriteStock();
  const list = section("ro-list", "Below threshold", {
    cls: "reorder",
    hint: "Suggested: what it takes to bring the level up to the reorder level.",
  });
  const toolbar = h("div", { class: "toolbar", attrs: { role: "toolbar", "aria-label": "Reorder actions" } });
  const root = h(
    "div",
    { class: "reorder-page" },
    h("div", { class: "page-head" }, h("h1", { text: "Reorder list" }), h("a", { href: "#/stock", text: "← Stock" })),
    toolbar,
    list.el,
  );
  main.append(root);
  if (writer) {
    toolbar.append(
      h("button", {
        type: "button",
        text: "Set a threshold…",
        on: { click: async () => (await forms.threshold()) && reload() },
      }),
    );
  }

  const table = keyedTable("Parts to reorder", ["Location", "Part", "Name", "Level", "Minimum", "Reorder up to", "Suggested", ...(writer ? ["Threshold"] : [])]);

  function render(rows) {
    list.set(String(rows.length > 0), () => (rows.length ? table.el : h("p", { class: "muted", text: "Nothing is below its threshold." })), `· ${rows.length}`);
    table.update(
      rows.map((r) => ({
        key: `${r.location}|${r.sku}`,
        cls: r.qty < 0 ? "row-short" : "row-low",
        sig: [r, writer],
        cells: [
          locationLink(r.location),
          r.sku,
          r.name ?? "—",
          h("span", {}, num(r.qty), r.qty < 0 ? [" ", h("span", { class: "badge badge-danger", text: "short" })] : null),
          String(r.min_qty),
          String(r.reorder_to),
          h("strong", { text: String(r.suggested) }),
          ...(writer
            ? [
                h("button", {
                  type: "button",
                  text: "Edit…",
                  dataset: { focusKey: "edit" },
                  attrs: { "aria-label": `Edit the threshold of ${r.sku} at ${r.location}` },
                  on: {
                    click: async () => {
                      const res = await forms.threshold({ location: r.location, sku: r.sku, min_qty: r.min_qty, reorder_to: r.reorder_to });
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

  async function reload() {
    try {
      const rows = await api.get("/v1/stock/reorder");
      if (!alive) return;
      clearNotice(root);
      render(rows);
    } catch (err) {
      if (!alive || err.status === 401) return;
      notice(root, err.status === 403 ? `The reorder list is not for your role: ${err.message}` : `The reorder list could not be loaded: ${err.message}`, "error");
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
