// Technicians: load against capacity, skills, regions, today's jobs in order, and each
// device's freshness (last contact, a flagged clock, offline for how long): the first thing a
// dispatcher asks when a job looks stuck.

import * as api from "./api.js";
import { h, replace, label, fmtClock, fmtTime, fmtDuration, ago, notice, clearNotice, debounce, select, hashQuery, setHashQuery, woLink, setText } from "./ui.js";
import { loadMeter } from "./assign.js";

/** A device not heard from for this long counts as offline (ms). */
const OFFLINE_AFTER_MS = 30 * 60_000;
/** Heard from within this long: fresh (ms). */
const FRESH_WITHIN_MS = 5 * 60_000;

export function mountTechnicians(main) {
  const filters = { region: hashQuery().region ?? "", q: hashQuery().q ?? "", sort: hashQuery().sort ?? "" };
  let alive = true;
  let techs = [];
  let regions = null; // the filter's choices, once loaded
  let skew = 0;
  const now = () => Date.now() + skew;

  const filterBox = h("div", { class: "filter-fields" });
  const list = h("ul", { class: "tech-list", attrs: { "aria-label": "Technicians" } });
  const summary = h("p", { class: "muted", attrs: { "aria-live": "polite" } });
  const root = h(
    "div",
    { class: "technicians" },
    h("div", { class: "page-head" }, h("h1", { text: "Technicians" })),
    h("form", { class: "filters", attrs: { role: "search", "aria-label": "Filter technicians" }, on: { submit: (e) => e.preventDefault() } }, filterBox),
    summary,
    list,
  );
  main.append(root);

  function renderFilters() {
    const search = h("input", {
      id: "t-q",
      type: "search",
      value: filters.q,
      on: { input: debounce((e) => set("q", e.target.value.trim()), 200) },
    });
    replace(
      filterBox,
      select("t-region", "Region", regions ?? [], filters.region),
      select("t-sort", "Order", [["load", "Most loaded first"], ["stale", "Longest without sync first"]], filters.sort, "By name"),
      h("div", { class: "field field-search" }, h("label", { attrs: { for: "t-q" }, text: "Search" }), search),
    );
    filterBox.querySelector("#t-region").addEventListener("change", (e) => set("region", e.target.value, true));
    filterBox.querySelector("#t-sort").addEventListener("change", (e) => set("sort", e.target.value));
  }

  function set(key, value, refetch = false) {
    filters[key] = value;
    setHashQuery("technicians", filters);
    if (refetch) reload();
    else render();
  }

  /** The technician's devices, most recently synced first. */
  function devicesOf(t) {
    return Array.isArray(t.devices) ? t.devices : [];
  }

  function lastContact(t) {
    return devicesOf(t).reduce((m, d) => Math.max(m, d.last_contact_at), 0);
  }

  function shown() {
    const q = filters.q.toLowerCase();
    let out = techs.filter((t) => !q || t.id.toLowerCase().includes(q) || (t.name ?? "").toLowerCase().includes(q) || t.skills.some((s) => s.includes(q)));
    if (filters.sort === "load") out = [...out].sort((a, b) => b.load - a.load || a.id.localeCompare(b.id));
    if (filters.sort === "stale") out = [...out].sort((a, b) => lastContact(a) - lastContact(b) || a.id.localeCompare(b.id));
    return out;
  }

  function render() {
    const items = shown();
    const existing = new Map([...list.children].map((el) => [el.dataset.id, el]));
    let i = 0;
    for (const t of items) {
      let el = existing.get(t.id);
      existing.delete(t.id);
      const sig = JSON.stringify([t, devicesOf(t)]);
      if (!el) el = h("li", { class: "tech", dataset: { id: t.id } });
      if (el._sig !== sig) {
        el._sig = sig;
        replace(el, techCard(t));
      }
      if (list.children[i] !== el) list.insertBefore(el, list.children[i] ?? null);
      i += 1;
    }
    for (const stale of existing.values()) stale.remove();
    summary.textContent = `${items.length} of ${techs.length} technicians.`;
    tick();
  }

  function techCard(t) {
    const mine = devicesOf(t);
    return [
      h(
        "div",
        { class: "tech-head" },
        h("h2", { class: "tech-name", text: t.name && t.name !== t.id ? `${t.name} (${t.id})` : t.id }),
        t.active ? null : h("span", { class: "badge badge-danger", text: "inactive" }),
        loadMeter(t.open, t.capacity),
      ),
      h("p", { class: "small" }, h("span", { class: "muted", text: "Skills: " }), t.skills.join(", ") || "—", h("br"), h("span", { class: "muted", text: "Regions: " }), t.regions.join(", ") || "—"),
      mine.length === 0
        ? h("p", { class: "freshness freshness-none small", text: "No device has synced yet." })
        : h("ul", { class: "devices", attrs: { "aria-label": `Devices of ${t.id}` } }, mine.map(deviceItem)),
      h("h3", { class: "small-heading", text: `Today (${t.today.length})` }),
      t.today.length
        ? h(
            "ol",
            { class: "today" },
            t.today.map((j) =>
              h(
                "li",
                {},
                h("span", { class: "slot", text: slot(j) }),
                " ",
                woLink(j.id),
                ` ${j.customer_name} · `,
                h("span", { class: "muted", text: label(j.status) }),
              ),
            ),
          )
        : h("p", { class: "muted small", text: "No jobs today." }),
    ];
  }

  function slot(j) {
    if (j.appointment_start === null || j.appointment_start === undefined) return "unscheduled";
    return j.appointment_end ? `${fmtClock(j.appointment_start)}–${fmtClock(j.appointment_end)}` : fmtClock(j.appointment_start);
  }

  function deviceItem(d) {
    return h(
      "li",
      { class: "device", dataset: { contact: d.last_contact_at } },
      h("span", { class: "device-id", text: d.device_id }),
      " ",
      h("span", { class: "freshness" }),
      d.flagged_at
        ? h("span", {
            class: "badge badge-danger badge-wrap",
            text: `clock flagged: ${d.flag_reason || "off"}${d.clock_skew_ms ? ` (${d.clock_skew_ms > 0 ? "+" : "−"}${fmtDuration(d.clock_skew_ms)})` : ""}`,
          })
        : null,
    );
  }

  /** Keeps "synced 3m ago" / "offline for 2h" current without a refetch. */
  function tick() {
    const t = now();
    for (const el of list.querySelectorAll(".device[data-contact]")) {
      const at = Number(el.dataset.contact);
      const age = t - at;
      const f = el.querySelector(".freshness");
      const state = age < FRESH_WITHIN_MS ? "fresh" : age < OFFLINE_AFTER_MS ? "stale" : "offline";
      f.className = `freshness freshness-${state}`;
      setText(f, state === "offline" ? `offline for ${fmtDuration(age)} (last sync ${fmtTime(at)})` : `synced ${ago(at, t)}`);
    }
  }

  async function reload() {
    try {
      const [list, clock] = await Promise.all([
        api.get(api.withQuery("/v1/technicians", { region: filters.region })),
        api.get("/v1/clock").catch(() => null),
      ]);
      if (clock?.now) skew = clock.now - Date.now();
      if (!alive) return;
      techs = list;
      if (regions === null) {
        regions = await api.regionChoices();
        if (!alive) return;
        renderFilters();
      }
      clearNotice(root);
      render();
    } catch (err) {
      if (alive && err.status !== 401) notice(root, `Technicians could not be loaded: ${err.message}`, "error");
    }
  }

  const reloadSoon = debounce(reload, 300);
  const ticker = setInterval(tick, 15_000);
  renderFilters();
  reload();
  return {
    onChange: () => reloadSoon(),
    unmount() {
      alive = false;
      clearInterval(ticker);
      reloadSoon.cancel();
    },
  };
}
