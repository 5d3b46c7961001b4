// One audit (#/audits/<id>): its work order, auditor and state; its findings as the manuals
// list them (standard, pass or fail, problem, responsible team, corrective action, deadline,
// verification), each unverified corrective action with its service clock, highlighted once
// overdue; its history; and the actions the user's role allows. Live: a change to its work
// order (a finding, a verification, a breach of its clock) refetches.

import * as api from "./api.js";
import { h, replace, label, fmtTime, countdown, notice, clearNotice, debounce, woLink, setText } from "./ui.js";
import { section, keyedTable } from "./stock-ui.js";
import * as forms from "./audit-forms.js";

const enc = encodeURIComponent;
const QA_RULE = "QA-CORRECTIVE";

/** Whether `user` may record findings on and close `audit` (its auditor, an auditor while it waits, an admin). */
function mayAudit(user, audit) {
  if (audit.state === "closed") return false;
  if (user.role === "admin") return true;
  return user.role === "auditor" && (!audit.auditor || audit.auditor === user.id);
}

const VERIFIERS = new Set(["auditor", "manager", "admin"]);

/** The clock of an unverified corrective action: its element, updated by `tickClocks`. */
export function correctiveClock(f) {
  return h("span", { class: "deadline qa-clock", dataset: { due: String(f.deadline_at) } }, h("span", { class: "deadline-rule", text: QA_RULE }), " ", h("span", { class: "qa-left" }));
}

/** Brings every corrective-action clock in `root` up to `now`; marks overdue rows. */
export function tickClocks(root, now) {
  for (const el of root.querySelectorAll(".qa-clock[data-due]")) {
    const due = Number(el.dataset.due);
    const overdue = due < now;
    el.classList.toggle("overdue", overdue);
    setText(el.querySelector(".qa-left"), countdown(due, now));
    el.closest("tr")?.classList.toggle("row-overdue", overdue);
  }
}

export function mountAudit(main, id) {
  let alive = true;
  let data = null;
  let skew = 0;
  const now = () => Date.now() + skew;
  const user = api.currentUser();

  const title = h("h1", { text: `Audit ${id}` });
  const facts = h("p", { class: "wo-status" });
  const toolbar = h("div", { class: "toolbar", attrs: { role: "toolbar", "aria-label": "Audit actions" } });
  const findings = section("au-findings", "Findings", { cls: "audit-findings" });
  const history = section("au-history", "History", { cls: "audit-history" });
  const root = h(
    "article",
    { class: "audit" },
    h("p", { class: "crumbs" }, h("a", { href: "#/audits", text: "← Audits" })),
    h("div", { class: "page-head" }, title, facts),
    toolbar,
    h("div", { class: "stock-grid" }, findings.el, history.el),
  );
  main.append(root);

  const findingTable = keyedTable("Findings", ["#", "Standard", "Result", "Problem", "Responsible team", "Corrective action", "Deadline", "Verification"]);
  const historyTable = keyedTable("History", ["When", "Who", "What", "Detail"]);

  function renderHead() {
    const a = data;
    title.textContent = `Audit of ${a.wo_id}`;
    replace(
      facts,
      h("span", { class: `badge ${a.state === "closed" ? "badge-ok" : a.state === "unassigned" ? "badge-warn" : ""}`, text: label(a.state) }),
      " ",
      woLink(a.wo_id, `Work order ${a.wo_id}`),
      h("span", { class: "muted", text: ` · ${a.region} · drawn for ${a.day} · auditor ${a.auditor ?? "none yet"}${a.closed_at ? ` · closed by ${a.closed_by} ${fmtTime(a.closed_at)}` : ""}` }),
    );
    const focused = toolbar.contains(document.activeElement) ? document.activeElement.dataset.action : null;
    const buttons = [];
    if (mayAudit(user, a)) {
      buttons.push(
        h("button", {
          type: "button",
          class: "button-primary",
          text: "Record a finding…",
          dataset: { action: "finding" },
          on: { click: async () => (await forms.recordFinding(data, now())) && reload() },
        }),
      );
      if (a.findings.length) {
        buttons.push(h("button", { type: "button", text: "Close audit…", dataset: { action: "close" }, on: { click: async () => (await forms.close(data)) && reload() } }));
      }
    }
    replace(toolbar, buttons.length ? buttons : h("span", { class: "muted", text: a.state === "closed" ? "This audit is closed." : "Only the audit's auditor or an admin records findings." }));
    if (focused) toolbar.querySelector(`[data-action="${focused}"]`)?.focus();
  }

  function verification(f) {
    if (f.result !== "fail") return "—";
    if (f.verified_at) return h("span", {}, h("span", { class: "badge badge-ok", text: "verified" }), ` by ${f.verified_by}, ${fmtTime(f.verified_at)}${f.verification_note ? `: ${f.verification_note}` : ""}`);
    if (!VERIFIERS.has(user.role)) return h("span", { class: "muted", text: "waiting" });
    return h("button", {
      type: "button",
      text: "Verify…",
      dataset: { focusKey: "verify" },
      attrs: { "aria-label": `Verify corrective action ${f.seq}` },
      on: { click: async () => (await forms.verify(data, f)) && reload() },
    });
  }

  function renderFindings() {
    const list = data.findings;
    findings.set(String(list.length > 0), () => (list.length ? findingTable.el : h("p", { class: "muted", text: "No finding yet." })), `· ${list.length}`);
    findingTable.update(
      list.map((f) => ({
        key: f.id,
        sig: [f, user.role],
        cls: f.result === "fail" && !f.verified_at && f.deadline_at < now() ? "row-overdue" : "",
        cells: [
          String(f.seq),
          h("span", {}, f.standard, f.note ? h("span", { class: "muted small", text: ` (${f.note})` }) : null),
          h("span", { class: `badge ${f.result === "fail" ? "badge-danger" : "badge-ok"}`, text: label(f.result) }),
          f.problem ?? "—",
          f.responsible_team ?? "—",
          f.corrective_action ?? "—",
          f.deadline_at ? h("span", {}, fmtTime(f.deadline_at), f.verified_at ? null : [" ", correctiveClock(f)]) : "—",
          verification(f),
        ],
      })),
    );
  }

  function renderHistory() {
    const list = [...data.history].reverse();
    history.set(String(list.length > 0), () => historyTable.el, `· ${list.length}`);
    historyTable.update(list.map((e, i) => ({ key: `${e.at}|${e.action}|${list.length - i}`, cells: [fmtTime(e.at), e.by_user, label(e.action), e.detail || "—"] })));
  }

  async function reload() {
    try {
      const [next, clock] = await Promise.all([api.get(`/v1/audits/${enc(id)}`), api.get("/v1/clock").catch(() => null)]);
      if (!alive) return;
      if (clock?.now) skew = clock.now - Date.now();
      data = next;
      clearNotice(root);
      renderHead();
      renderFindings();
      renderHistory();
      tickClocks(root, now());
    } catch (err) {
      if (!alive || err.status === 401) return;
      if (err.status === 404) notice(root, `No audit ${id}.`, "error");
      else if (err.status === 403) notice(root, `This audit is not for you: ${err.message}`, "error");
      else notice(root, `The audit could not be loaded: ${err.message}`, "error");
    }
  }

  const reloadSoon = debounce(reload, 200);
  const ticker = setInterval(() => tickClocks(root, now()), 15_000);
  reload();
  return {
    onChange: ({ ids }) => {
      if (ids === null || !data || ids.includes(data.wo_id)) reloadSoon();
    },
    unmount() {
      alive = false;
      clearInterval(ticker);
      reloadSoon.cancel();
    },
  };
}
