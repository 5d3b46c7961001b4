// A work order's whole record, with the actions the user's role allows now. Live changes to
// this work order redraw only the sections whose content changed; focus and open <details>
// stay.

import * as api from "./api.js";
import { h, replace, label, notice, clearNotice, debounce } from "./ui.js";
import { setServerNow } from "./cards.js";
import { openAssign } from "./assign.js";
import * as act from "./actions.js";
import {
  jobSection,
  clocksSection,
  escalationsSection,
  conflictsSection,
  fieldSection,
  partsSection,
  photosSection,
  signatureSection,
  timelineSection,
} from "./wo-sections.js";

const SECTIONS = [
  ["job", "Job", jobSection, (d) => [d.view.intake, d.view.assignee, d.view.accepted, d.view.appointment]],
  ["field", "On site", fieldSection, (d) => d.view],
  ["escalations", "Escalations", null, (d) => [d.escalations, d.actions]],
  ["conflicts", "Conflicts", conflictsSection, (d) => [d.view.conflicts, d.timeline]],
  ["signature", "Signature", signatureSection, (d) => [d.view.signature, d.seal]],
  ["photos", "Photos", photosSection, (d) => d.view.photos],
  ["clocks", "Clocks and breaches", clocksSection, (d) => d.clocks],
  ["parts", "Parts", partsSection, (d) => d.view.parts],
  ["timeline", "Timeline", timelineSection, (d) => d.timeline],
];

export function mountWorkOrder(main, id) {
  let alive = true;
  let data = null;
  const title = h("h1", { text: id });
  const status = h("p", { class: "wo-status" });
  const toolbar = h("div", { class: "toolbar", attrs: { role: "toolbar", "aria-label": "Actions" } });
  const grid = h("div", { class: "wo-grid" });
  const sections = new Map();
  for (const [key, heading] of SECTIONS) {
    const body = h("div", { class: "section-body" });
    const el = h(
      "section",
      { class: `wo-section wo-${key}`, attrs: { "aria-labelledby": `wo-${key}-title` } },
      h("h2", { id: `wo-${key}-title`, text: heading }),
      body,
    );
    sections.set(key, { el, body, sig: null });
    grid.append(el);
  }
  const root = h(
    "article",
    { class: "workorder" },
    h("p", { class: "crumbs" }, h("a", { href: "#/board", text: "← Board" })),
    h("div", { class: "page-head" }, title, status),
    toolbar,
    grid,
  );
  main.append(root);

  const escOpts = {
    canResolve: false,
    onResolve: async (esc) => {
      if (await act.resolveEscalation(esc)) reload();
    },
  };

  const ACTIONS = {
    assign: () => ({
      text: data.view.assignee ? "Reassign…" : "Assign…",
      run: () => openAssign(id, { onDone: () => reload() }),
    }),
    unassign: () => ({ text: "Unassign…", run: () => act.unassign(id).then((r) => r && reload()) }),
    classify: () => ({ text: "Classify complaint…", run: () => act.classify(id).then((r) => r && reload()) }),
    follow_up: () => ({ text: "Record follow-up…", run: () => act.followUp(id).then((r) => r && reload()) }),
    cancel: () => ({ text: "Cancel work order…", run: () => act.cancel(id).then((r) => r && reload()), danger: true }),
    resolve_escalation: () => {
      const open = (data.escalations ?? []).filter((e) => !e.resolved_at);
      if (open.length !== 1) return null; // several: each has its own button in its section
      return { text: "Resolve escalation…", run: () => escOpts.onResolve(open[0]) };
    },
  };

  function render() {
    const v = data.view;
    title.textContent = `${v.id} · ${v.intake.customer.name}`;
    replace(
      status,
      h("span", { class: `badge status-badge status-${v.status}`, text: label(v.status) }),
      v.intake.priority !== "normal" ? h("span", { class: `badge badge-${v.intake.priority}`, text: label(v.intake.priority) }) : null,
      h("span", { class: "muted", text: ` ${label(v.intake.service_type)} in ${v.intake.region}` }),
    );
    renderToolbar();
    escOpts.canResolve = (data.actions ?? []).includes("resolve_escalation");
    for (const [key, , build, sigOf] of SECTIONS) {
      const s = sections.get(key);
      const sig = JSON.stringify(sigOf(data));
      if (s.sig === sig) continue;
      s.sig = sig;
      const focusKey = s.el.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;
      const open = [...s.body.querySelectorAll("details[open]")].length > 0;
      replace(s.body, key === "escalations" ? escalationsSection(data, escOpts) : build(data));
      if (open) for (const d of s.body.querySelectorAll("details")) d.open = true;
      if (focusKey) s.body.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`)?.focus({ preventScroll: true });
    }
  }

  function renderToolbar() {
    const focused = toolbar.contains(document.activeElement) ? document.activeElement.dataset.action : null;
    const buttons = (data.actions ?? [])
      .map((a) => {
        const spec = ACTIONS[a]?.();
        return spec
          ? h("button", {
              type: "button",
              class: spec.danger ? "button-danger" : "",
              text: spec.text,
              dataset: { action: a },
              on: { click: spec.run },
            })
          : null;
      })
      .filter(Boolean);
    replace(toolbar, buttons.length ? buttons : h("span", { class: "muted", text: "No action for your role now." }));
    if (focused) toolbar.querySelector(`[data-action="${focused}"]`)?.focus();
  }

  async function reload() {
    try {
      const next = await api.get(`/v1/console/workorder/${encodeURIComponent(id)}`);
      if (!alive) return;
      data = next;
      if (typeof next.now === "number") setServerNow(next.now);
      clearNotice(root);
      render();
    } catch (err) {
      if (!alive || err.status === 401) return;
      if (err.status === 404) {
        notice(root, `No work order ${id} that you can see.`, "error");
        toolbar.replaceChildren();
        grid.hidden = true;
      } else notice(root, `The work order could not be loaded: ${err.message}`, "error");
    }
  }

  const reloadSoon = debounce(reload, 150);
  reload();
  return {
    onChange({ ids }) {
      if (ids === null || ids.includes(id)) reloadSoon();
    },
    unmount() {
      alive = false;
      reloadSoon.cancel();
    },
  };
}
