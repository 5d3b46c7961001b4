// The board: filters, the unassigned queue in the order the batch dispatcher serves it, and a
// lane per region with a cell per status. Live changes update cards in place; scroll, filters,
// an open dialog and keyboard focus are never lost.

import * as api from "./api.js";
import { h, replace, label, debounce, notice, clearNotice, select, hashQuery, setHashQuery, announce } from "./ui.js";
import {
  DISPATCH_ROLES,
  cardPool,
  reconcileList,
  fillCard,
  focusMark,
  restoreFocus,
  setServerNow,
  tickDeadlines,
} from "./cards.js";
import { openAssign } from "./assign.js";
import { openAutoDispatch } from "./autodispatch.js";

/**
 * Cards per cell (and in the unassigned queue) asked of the server: a few per cell when the
 * board spans every region (an admin's 10,000 open jobs stay a page of a few thousand nodes),
 * more once a filter narrows it. Counts always tell the full number.
 */
const LIMIT = 20;
const LIMIT_NARROWED = 100;
const FILTERS = ["region", "skill", "status", "priority", "q"];
const PRIORITIES = ["urgent", "vip", "normal"];
const WAITING = "pending_dispatch";

export function mountBoard(main) {
  const user = api.currentUser();
  const canDispatch = DISPATCH_ROLES.has(user.role);
  const filters = Object.fromEntries(FILTERS.map((k) => [k, hashQuery()[k] ?? ""]));
  let board = null;
  let skills = [];
  let regionOptions = null; // the regions the user may pick (the board shows only the filtered one)
  let alive = true;
  let loadSeq = 0;

  const cardOpts = {
    statusShown: true,
    onAssign: canDispatch ? (card, button) => openAssign(card.id, { opener: button, onDone: () => reload() }) : null,
  };

  const filterBox = h("div", { class: "filter-fields" });
  const search = h("input", {
    id: "f-q",
    type: "search",
    value: filters.q,
    placeholder: "Id, customer, technician…",
    on: { input: debounce((e) => setFilter("q", e.target.value.trim()), 250) },
  });
  const form = h(
    "form",
    { class: "filters", attrs: { role: "search", "aria-label": "Filter the board" }, on: { submit: (e) => e.preventDefault() } },
    filterBox,
    h("div", { class: "field field-search" }, h("label", { attrs: { for: "f-q" }, text: "Search" }), search),
    h("button", { type: "button", class: "button-quiet", text: "Clear filters", on: { click: clearFilters } }),
  );
  const summary = h("p", { class: "board-summary muted", attrs: { "aria-live": "polite" } });
  const unassignedCount = h("span", { class: "count" });
  const unassignedList = h("ol", { class: "cards cards-queue", attrs: { "aria-labelledby": "unassigned-title" } });
  const unassignedMore = h("p", { class: "more muted" });
  const lanes = h("div", { class: "lanes" });
  const autoButton = canDispatch
    ? h("button", {
        type: "button",
        class: "button-primary",
        text: "Auto-dispatch…",
        on: { click: (e) => openAutoDispatch(regionOptions ?? board?.regions ?? [], e.currentTarget, () => reload()) },
      })
    : null;

  const root = h(
    "div",
    { class: "board" },
    h("div", { class: "page-head" }, h("h1", { text: "Board" }), autoButton),
    form,
    summary,
    h(
      "section",
      { class: "unassigned", attrs: { "aria-labelledby": "unassigned-title" } },
      h("h2", { id: "unassigned-title" }, "Unassigned ", unassignedCount),
      h("p", { class: "muted small", text: "In the order the dispatcher serves them: urgent, VIP, soonest deadline, oldest." }),
      unassignedList,
      unassignedMore,
    ),
    h("section", { class: "lanes-section", attrs: { "aria-labelledby": "lanes-title" } }, h("h2", { id: "lanes-title", text: "By region" }), lanes),
  );
  main.append(root);

  function setFilter(key, value) {
    if (filters[key] === value) return;
    filters[key] = value;
    setHashQuery("board", filters);
    reload();
  }

  function clearFilters() {
    for (const k of FILTERS) filters[k] = "";
    search.value = "";
    for (const sel of filterBox.querySelectorAll("select")) sel.value = "";
    setHashQuery("board", filters);
    reload();
  }

  function renderFilters() {
    const focusedId = document.activeElement?.id;
    const fields = [
      select("f-region", "Region", regionOptions ?? board.regions, filters.region),
      select("f-skill", "Skill", skills, filters.skill),
      select("f-status", "Status", board.statuses, filters.status),
      select("f-priority", "Priority", PRIORITIES, filters.priority),
    ];
    replace(filterBox, fields);
    for (const sel of filterBox.querySelectorAll("select")) {
      sel.addEventListener("change", () => setFilter(sel.id.slice(2), sel.value));
    }
    if (focusedId && filterBox.querySelector(`#${focusedId}`)) document.getElementById(focusedId).focus();
  }

  async function reload() {
    const seq = ++loadSeq;
    try {
      const narrowed = filters.region || filters.status || filters.q;
      const next = await api.get(api.withQuery("/v1/console/board", { ...filters, limit: narrowed ? LIMIT_NARROWED : LIMIT }));
      if (!alive || seq !== loadSeq) return;
      const firstLoad = board === null;
      const filtersChanged = firstLoad || JSON.stringify(next.statuses) !== JSON.stringify(board.statuses);
      board = next;
      setServerNow(board.now);
      clearNotice(root);
      if (filtersChanged) renderFilters();
      render();
    } catch (err) {
      if (alive && err.status !== 401) notice(root, `The board could not be loaded: ${err.message}`, "error");
    }
  }

  function render() {
    const mark = focusMark(root);
    unassignedCount.textContent = `· ${board.unassigned_total}`;
    reconcileList(unassignedList, board.unassigned, cardPool(unassignedList), cardOpts);
    unassignedMore.textContent =
      board.unassigned_total > board.unassigned.length ? `Showing ${board.unassigned.length} of ${board.unassigned_total}.` : "";
    if (board.unassigned_total === 0) unassignedMore.textContent = "Nothing waiting for dispatch.";
    renderLanes(cardPool(lanes));
    restoreFocus(root, mark);
    let open = 0;
    for (const r of board.regions) for (const n of Object.values(board.counts[r] ?? {})) open += n;
    summary.textContent = `${open} work orders in ${board.regions.length} region${board.regions.length === 1 ? "" : "s"}, ${board.unassigned_total} waiting for dispatch.`;
    tickDeadlines(root);
  }

  function renderLanes(pool) {
    const existing = new Map([...lanes.children].map((el) => [el.dataset.region, el]));
    let i = 0;
    for (const region of board.regions) {
      let lane = existing.get(region);
      if (!lane) lane = laneElement(region);
      existing.delete(region);
      if (lanes.children[i] !== lane) lanes.insertBefore(lane, lanes.children[i] ?? null);
      fillLane(lane, region, pool);
      i += 1;
    }
    for (const stale of existing.values()) stale.remove();
    // Many lanes: let the browser skip laying out those off screen.
    lanes.classList.toggle("lanes-many", board.regions.length > 6);
    if (board.regions.length === 0) replace(lanes, h("p", { class: "muted", text: "You dispatch no region yet. An administrator gives you regions." }));
  }

  function laneElement(region) {
    const id = `lane-${region}`;
    return h(
      "section",
      { class: "lane", dataset: { region }, attrs: { "aria-labelledby": id } },
      h("h3", { id, class: "lane-title" }, h("span", { text: region }), " ", h("span", { class: "count" })),
      h("div", { class: "cells" }),
    );
  }

  function fillLane(lane, region, pool) {
    const counts = board.counts[region] ?? {};
    const cardsByStatus = board.lanes[region] ?? {};
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    lane.querySelector(".lane-title .count").textContent = `· ${total} open`;
    const cells = lane.querySelector(".cells");
    const existing = new Map([...cells.children].map((el) => [el.dataset.status, el]));
    let i = 0;
    for (const status of board.statuses) {
      const n = counts[status] ?? 0;
      if (n === 0 && !(cardsByStatus[status]?.length > 0)) continue;
      let cell = existing.get(status);
      if (!cell) cell = cellElement(region, status);
      existing.delete(status);
      if (cells.children[i] !== cell) cells.insertBefore(cell, cells.children[i] ?? null);
      // Waiting jobs are listed once, in the queue above; their lane only counts them.
      const list = status === WAITING ? [] : cardsByStatus[status] ?? [];
      cell.querySelector(".cell-count").textContent = String(n);
      const ol = cell.querySelector("ol");
      reconcileList(ol, list, pool, cardOpts);
      ol.hidden = list.length === 0;
      const more = cell.querySelector(".more");
      if (status === WAITING) more.textContent = `${n} waiting: see the unassigned queue above.`;
      else more.textContent = n > list.length ? `Showing ${list.length} of ${n}; filter or search to narrow.` : "";
      i += 1;
    }
    for (const stale of existing.values()) stale.remove();
    if (i === 0 && !cells.querySelector(".empty")) cells.append(h("p", { class: "empty muted", text: "No open work orders." }));
    else if (i > 0) cells.querySelector(".empty")?.remove();
  }

  function cellElement(region, status) {
    const id = `cell-${region}-${status}`;
    return h(
      "section",
      { class: `cell status-${status}`, dataset: { status }, attrs: { "aria-labelledby": id } },
      h("h4", { id, class: "cell-title" }, h("span", { text: label(status) }), " ", h("span", { class: "cell-count badge" })),
      h("ol", { class: "cards" }),
      h("p", { class: "more muted small" }),
    );
  }

  /** Live: cards that stayed in their cell are refilled in place; anything else reloads. */
  const reloadSoon = debounce(() => reload(), 150);
  async function onChange({ ids }) {
    if (!board) return;
    if (ids === null || ids.length === 0 || ids.length > 100) return reloadSoon();
    const shown = new Map(); // id → its elements (a waiting job is in the queue and its lane)
    for (const id of ids) {
      const els = [...root.querySelectorAll(`.card[data-id="${CSS.escape(id)}"]`)];
      if (els.length === 0) return reloadSoon();
      shown.set(id, els);
    }
    try {
      const { now, cards } = await api.get(api.withQuery("/v1/console/cards", { ids: ids.join(",") }));
      setServerNow(now);
      if (cards.length !== ids.length) return reloadSoon();
      for (const c of cards) {
        for (const el of shown.get(c.id) ?? []) {
          if (!el.isConnected || el._card.status !== c.status || el._card.region !== c.region || el._card.assignee !== c.assignee) {
            return reloadSoon();
          }
        }
      }
      const mark = focusMark(root);
      for (const c of cards) for (const el of shown.get(c.id)) fillCard(el, c, cardOpts);
      restoreFocus(root, mark);
      tickDeadlines(root);
      announce(`${cards.length} work order${cards.length > 1 ? "s" : ""} updated.`);
    } catch {
      reloadSoon();
    }
  }

  const ticker = setInterval(() => tickDeadlines(root), 15_000);
  Promise.all([api.get("/v1/skills").catch(() => []), api.regionChoices()]).then(([list, regions]) => {
    skills = (Array.isArray(list) ? list : []).map((s) => (typeof s === "string" ? s : [s.id, s.name && s.name !== s.id ? s.name : s.id]));
    regionOptions = regions;
    if (board && alive) renderFilters();
  });
  reload();

  return {
    onChange,
    unmount() {
      alive = false;
      clearInterval(ticker);
      reloadSoon.cancel();
    },
  };
}
