// The manager's queues: open escalations (resolve with a note), breaches, low scores waiting
// for a call, complaints waiting for classification; each with its clock. Live.

import * as api from "./api.js";
import { h, label, fmtTime, notice, clearNotice, debounce, woLink } from "./ui.js";
import { cardPool, reconcileList, focusMark, restoreFocus, setServerNow, tickDeadlines, deadlineElement } from "./cards.js";
import * as act from "./actions.js";

const RESOLVERS = new Set(["manager", "admin"]);
const CLASSIFIERS = new Set(["agent", "dispatcher", "manager", "admin"]);

export function mountQueues(main) {
  const user = api.currentUser();
  let alive = true;
  let data = null;

  const lists = {
    escalations: h("ul", { class: "rows escalations" }),
    breaches: h("ol", { class: "cards cards-queue" }),
    low_scores: h("ol", { class: "cards cards-queue" }),
    complaints_to_classify: h("ol", { class: "cards cards-queue" }),
  };
  const counts = Object.fromEntries(Object.keys(lists).map((k) => [k, h("span", { class: "count" })]));
  const empties = Object.fromEntries(Object.keys(lists).map((k) => [k, h("p", { class: "muted", hidden: true })]));
  const section = (key, title, hint) =>
    h(
      "section",
      { class: `queue queue-${key}`, attrs: { "aria-labelledby": `q-${key}` } },
      h("h2", { id: `q-${key}` }, `${title} `, counts[key]),
      h("p", { class: "muted small", text: hint }),
      lists[key],
      empties[key],
    );
  const root = h(
    "div",
    { class: "queues" },
    h("div", { class: "page-head" }, h("h1", { text: "Queues" })),
    h(
      "div",
      { class: "queue-grid" },
      section("escalations", "Open escalations", "Oldest first, each with its own deadline."),
      section("low_scores", "Low scores waiting for a call", "A score of 3 or less: a manager calls the customer back."),
      section("complaints_to_classify", "Complaints to classify", "Quality, attitude or delay; urgent ones go to a manager."),
      section("breaches", "Breaches", "Work orders with a breached service clock."),
    ),
  );
  main.append(root);

  const scoreOpts = {
    extra: (card) =>
      h("p", { class: "score" }, h("span", { class: "badge badge-danger", text: `Score ${card.score}` }), card.comment ? ` “${card.comment}”` : null),
  };
  const classifyOpts = {
    extra: (card) =>
      CLASSIFIERS.has(user.role)
        ? h("button", {
            type: "button",
            text: "Classify…",
            dataset: { focusKey: "classify" },
            attrs: { "aria-label": `Classify complaint ${card.id}` },
            on: { click: async () => (await act.classify(card.id)) && reload() },
          })
        : null,
  };

  function escalationRow(e) {
    const overdue = e.due_at < (data?.now ?? Date.now());
    return h(
      "li",
      { class: "row escalation", dataset: { id: e.id } },
      h("p", {}, woLink(e.wo_id), " ", h("span", { class: "badge badge-warn", text: label(e.kind) }), " ", h("span", { class: "muted", text: e.region })),
      h("p", { text: e.reason }),
      h("p", { class: "small muted", text: `Opened ${fmtTime(e.opened_at)}` }),
      deadlineElement({ rule: "Due", due_at: e.due_at, at_risk: false, overdue }),
      RESOLVERS.has(user.role)
        ? h("button", {
            type: "button",
            text: "Resolve…",
            dataset: { focusKey: `esc-${e.id}` },
            attrs: { "aria-label": `Resolve escalation of ${e.wo_id}: ${label(e.kind)}` },
            on: { click: async () => (await act.resolveEscalation(e)) && reload() },
          })
        : null,
    );
  }

  function renderEscalations() {
    const ul = lists.escalations;
    const focusKey = ul.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;
    const existing = new Map([...ul.children].map((el) => [el.dataset.id, el]));
    let i = 0;
    for (const e of data.escalations) {
      const sig = JSON.stringify(e);
      let el = existing.get(e.id);
      existing.delete(e.id);
      if (!el || el._sig !== sig) {
        const fresh = escalationRow(e);
        fresh._sig = sig;
        if (el) el.replaceWith(fresh);
        el = fresh;
      }
      if (ul.children[i] !== el) ul.insertBefore(el, ul.children[i] ?? null);
      i += 1;
    }
    for (const stale of existing.values()) stale.remove();
    if (focusKey && !ul.contains(document.activeElement)) {
      ul.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`)?.focus({ preventScroll: true });
    }
  }

  function render() {
    const mark = focusMark(root);
    renderEscalations();
    // A work order can be in several queues: each list keeps its own elements.
    reconcileList(lists.breaches, data.breaches, cardPool(lists.breaches), {});
    reconcileList(lists.low_scores, data.low_scores, cardPool(lists.low_scores), scoreOpts);
    reconcileList(lists.complaints_to_classify, data.complaints_to_classify, cardPool(lists.complaints_to_classify), classifyOpts);
    const EMPTY = {
      escalations: "No open escalations.",
      breaches: "No breaches.",
      low_scores: "No low scores waiting.",
      complaints_to_classify: "No complaints waiting.",
    };
    for (const k of Object.keys(lists)) {
      counts[k].textContent = `· ${data[k].length}`;
      empties[k].textContent = EMPTY[k];
      empties[k].hidden = data[k].length > 0;
    }
    restoreFocus(root, mark);
    tickDeadlines(root);
  }

  async function reload() {
    try {
      const next = await api.get("/v1/console/queues");
      if (!alive) return;
      data = next;
      setServerNow(data.now);
      clearNotice(root);
      render();
    } catch (err) {
      if (!alive || err.status === 401) return;
      notice(root, err.status === 403 ? "The queues are for managers and agents." : `The queues could not be loaded: ${err.message}`, "error");
    }
  }

  const reloadSoon = debounce(reload, 150);
  const ticker = setInterval(() => tickDeadlines(root), 15_000);
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
