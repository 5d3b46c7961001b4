// A work-order card (board, queues) and the keyed reconciliation that updates lists of them in
// place: an unchanged card is left alone, a changed one is refilled, a moved one is moved, and
// keyboard focus stays where it was.

import { h, append, label, countdown, setText } from "./ui.js";

/** Roles that may assign and dispatch. */
export const DISPATCH_ROLES = new Set(["dispatcher", "manager", "admin"]);

/** Statuses whose technician can no longer change. */
const KEEPS_TECHNICIAN = new Set(["signed", "completed", "escalated", "closed", "cancelled"]);

/** Whether a card's job can be (re)assigned by a dispatcher now. */
export function assignable(card) {
  return !KEEPS_TECHNICIAN.has(card.status);
}

/**
 * A new card element for `card`. `opts.onAssign(card, button)` adds an Assign button;
 * `opts.extra(card)` returns more nodes (queues add scores and actions); `opts.statusShown`
 * leaves out the status (the board's column says it).
 */
export function cardElement(card, opts = {}) {
  const el = h("li", { class: "card", dataset: { id: card.id } });
  fillCard(el, card, opts);
  return el;
}

/** Refills `el` when `card` differs from what it shows (returns whether it did). */
export function fillCard(el, card, opts = {}) {
  const sig = JSON.stringify(card);
  if (el._sig === sig) return false;
  el._sig = sig;
  el._card = card;
  el.className = `card prio-${card.priority}${card.tier === "vip" ? " tier-vip" : ""}`;
  el.dataset.status = card.status;
  el.dataset.region = card.region;
  const title = `${card.id} ${card.customer_name}`;
  el.replaceChildren();
  append(el, [
    h(
      "div",
      { class: "card-top" },
      h("a", {
        class: "card-id",
        href: `#/wo/${encodeURIComponent(card.id)}`,
        text: card.id,
        dataset: { focusKey: "link" },
        attrs: { "aria-label": `Work order ${title}` },
      }),
      card.priority !== "normal" ? h("span", { class: `badge badge-${card.priority}`, text: label(card.priority) }) : null,
      card.tier === "vip" && card.priority !== "vip" ? h("span", { class: "badge badge-vip", text: "VIP customer" }) : null,
    ),
    h("p", { class: "card-customer", text: card.customer_name }),
    h(
      "p",
      { class: "card-meta" },
      h("span", { class: "card-type", text: label(card.service_type) }),
      card.skills?.length ? h("span", { class: "card-skills", text: ` · ${card.skills.join(", ")}` }) : null,
    ),
    card.assignee
      ? h("p", { class: "card-assignee", text: `→ ${card.assignee_name || card.assignee}` })
      : h("p", { class: "card-assignee card-unassigned", text: "Unassigned" }),
    // On the board the column says the status; elsewhere the card does.
    opts.statusShown ? null : h("p", { class: "card-status", text: label(card.status) }),
    deadlineElement(card.next_deadline),
    flags(card),
    opts.extra ? opts.extra(card) : null,
    opts.onAssign && assignable(card)
      ? h("button", {
          type: "button",
          class: "card-assign",
          text: card.assignee ? "Reassign" : "Assign",
          dataset: { focusKey: "assign" },
          attrs: { "aria-label": `${card.assignee ? "Reassign" : "Assign"} ${title}` },
          on: { click: (e) => opts.onAssign(el._card, e.currentTarget) },
        })
      : null,
  ]);
  return true;
}

function flags(card) {
  const items = [];
  if (card.breaches > 0) items.push(h("span", { class: "badge badge-danger", text: `${card.breaches} breach${card.breaches > 1 ? "es" : ""}` }));
  if (card.open_conflicts > 0)
    items.push(h("span", { class: "badge badge-warn", text: `${card.open_conflicts} conflict${card.open_conflicts > 1 ? "s" : ""}` }));
  return items.length ? h("p", { class: "card-flags" }, items) : null;
}

/** The next deadline as a countdown; the ticker keeps its text current. */
export function deadlineElement(d) {
  if (!d) return null;
  const el = h("p", { class: "deadline", dataset: { due: d.due_at, risk: d.at_risk ? "1" : "" } });
  el.append(h("span", { class: "deadline-rule", text: d.rule }), " ", h("span", { class: "deadline-left" }));
  tickDeadline(el, serverNow());
  return el;
}

let skew = 0; // server time minus local time, ms

/** Records the server's time of a response, so countdowns follow the service clock. */
export function setServerNow(now) {
  if (typeof now === "number") skew = now - Date.now();
}

/** The service clock's time now, as far as the last response told. */
export function serverNow() {
  return Date.now() + skew;
}

function tickDeadline(el, now) {
  const due = Number(el.dataset.due);
  const overdue = due < now;
  el.classList.toggle("overdue", overdue);
  el.classList.toggle("at-risk", !overdue && el.dataset.risk === "1");
  const left = el.querySelector(".deadline-left");
  setText(left, `${countdown(due, now)}${overdue ? " (breached)" : el.dataset.risk === "1" ? " (at risk)" : ""}`);
}

/** Updates every countdown under `root`. */
export function tickDeadlines(root) {
  const now = serverNow();
  for (const el of root.querySelectorAll(".deadline[data-due]")) tickDeadline(el, now);
}

/** The focused card element's id, list and focus key, to restore focus after a redraw. */
export function focusMark(root) {
  const a = document.activeElement;
  if (!a || !root.contains(a)) return null;
  const card = a.closest(".card[data-id]");
  return { el: a, id: card?.dataset.id ?? null, list: card?.parentElement ?? null, key: a.dataset.focusKey ?? null };
}

/**
 * Puts focus back where `mark` says, if the redraw replaced that element: on the same card in
 * the same list if it is still there, else on that card anywhere under `root`.
 */
export function restoreFocus(root, mark) {
  if (!mark || document.activeElement === mark.el) return;
  // Moving a focused node in the DOM blurs it: focus it again where it now is.
  if (mark.el.isConnected) return mark.el.focus({ preventScroll: true });
  if (!mark.id) return;
  const sel = `.card[data-id="${CSS.escape(mark.id)}"]`;
  const card = (mark.list?.isConnected ? mark.list.querySelector(sel) : null) ?? root.querySelector(sel);
  const target = card?.querySelector(mark.key ? `[data-focus-key="${mark.key}"]` : "a") ?? null;
  if (target) target.focus({ preventScroll: true });
}

/**
 * Makes list `ol` show `cards` in order, reusing elements from `pool` (id → element, shared by
 * every list of the page, so a card that changed column keeps its element). Used elements are
 * taken out of the pool.
 */
export function reconcileList(ol, cards, pool, opts) {
  let i = 0;
  for (const card of cards) {
    let el = pool.get(card.id);
    if (el) {
      pool.delete(card.id);
      fillCard(el, card, opts);
    } else {
      el = cardElement(card, opts);
    }
    const at = ol.children[i];
    if (at !== el) ol.insertBefore(el, at ?? null);
    i += 1;
  }
  while (ol.children.length > i) {
    const extra = ol.children[i];
    extra.remove();
  }
}

/** Every card element under `root`, by id. */
export function cardPool(root) {
  const pool = new Map();
  for (const el of root.querySelectorAll(".card[data-id]")) pool.set(el.dataset.id, el);
  return pool;
}
