// The assign dialog: every candidate dispatch considered, the eligible ones ranked by load
// against capacity, each excluded one with its reason. One click (or Enter on the focused
// first choice) assigns; a reassignment asks for the reason the rules require.

import * as api from "./api.js";
import { h, replace, label, fmtTime, announce } from "./ui.js";
import { openDialog } from "./dialog.js";

/** Words for a dispatch exclusion. */
export function exclusionText(ex) {
  switch (ex?.reason) {
    case "inactive":
      return "Inactive account";
    case "outside_region":
      return `Does not work in ${ex.region}`;
    case "missing_skills":
      return `Missing skill${ex.skills.length > 1 ? "s" : ""}: ${ex.skills.join(", ")}`;
    case "at_capacity":
      return `At capacity (${ex.open} of ${ex.capacity} open)`;
    case "refused":
      return "Declined this job or let it time out";
    default:
      return label(ex?.reason ?? "excluded");
  }
}

/** A load meter: open jobs against capacity. */
export function loadMeter(open, capacity) {
  const ratio = capacity > 0 ? Math.min(1, open / capacity) : 1;
  const meter = h("span", {
    class: `meter${ratio >= 1 ? " meter-full" : ratio >= 0.8 ? " meter-high" : ""}`,
    attrs: { role: "img", "aria-label": `${open} of ${capacity} open` },
  });
  const fill = h("span", { class: "meter-fill" });
  fill.style.setProperty("--ratio", String(ratio));
  meter.append(fill);
  return h("span", { class: "load" }, meter, h("span", { class: "load-text", text: `${open} / ${capacity}` }));
}

/**
 * Opens the dialog for work order `id`. `onDone(result)` runs after an assignment (the
 * dialog has closed by then).
 */
export function openAssign(id, { onDone = () => {} } = {}) {
  let result = null;
  openDialog({
    title: `Assign ${id}`,
    wide: true,
    onClose: () => {
      if (result) onDone(result);
    },
    build: ({ close, body }) => {
      const status = h("p", { class: "loading", text: "Loading the candidates…" });
      load(id, body, status, close, (r) => {
        result = r;
      });
      return status;
    },
  });
}

async function load(id, body, status, close, setResult) {
  let report;
  try {
    report = await api.get(`/v1/workorders/${encodeURIComponent(id)}/explain`);
  } catch (err) {
    status.className = "form-error";
    status.setAttribute("role", "alert");
    status.textContent = `The candidates could not be loaded: ${err.message}`;
    return;
  }
  const reassign = report.assignee !== null && report.assignee !== undefined;
  const error = h("p", { class: "form-error", attrs: { role: "alert" }, hidden: true });
  const reason = reassign
    ? h("textarea", { id: "assign-reason", name: "reason", rows: 2, required: true, maxLength: 4000 })
    : null;
  const candidates = report.now?.candidates ?? [];
  const eligible = candidates.filter((c) => !c.excluded);
  const excluded = candidates.filter((c) => c.excluded);

  async function assign(technician, button) {
    const why = reason ? reason.value.trim() : "";
    if (reassign && why === "") {
      error.textContent = "A reassignment needs a reason: say why the job moves.";
      error.hidden = false;
      reason.focus();
      return;
    }
    for (const b of body.querySelectorAll("button")) b.disabled = true;
    button.textContent = "Assigning…";
    try {
      const res = await api.post(`/v1/workorders/${encodeURIComponent(id)}/assign`, {
        technician,
        reason: reassign ? why : null,
      });
      setResult(res);
      const warning = res?.warning ? ` Dispatch rules would not have chosen them: ${exclusionText(res.warning)}.` : "";
      announce(`${id} assigned to ${technician}.${warning}`);
      close();
    } catch (err) {
      for (const b of body.querySelectorAll("button")) b.disabled = false;
      button.textContent = button.dataset.text;
      error.textContent = err.message;
      error.hidden = false;
    }
  }

  const assignButton = (c, text, primary) => {
    const b = h("button", {
      type: "button",
      class: primary ? "button-primary" : "",
      text,
      dataset: { text, tech: c.technician },
      attrs: { "aria-label": `${text}: ${c.technician}` },
      on: { click: (e) => assign(c.technician, e.currentTarget) },
    });
    return b;
  };

  const eligibleList = eligible.length
    ? h(
        "ol",
        { class: "candidates", attrs: { "aria-label": "Eligible technicians, best first" } },
        eligible.map((c) =>
          h(
            "li",
            { class: c.technician === report.assignee ? "candidate current" : "candidate" },
            h("span", { class: "rank", text: `#${c.rank}` }),
            h("span", { class: "candidate-name" }, c.technician, c.rank === 1 ? h("span", { class: "badge badge-ok", text: "dispatch's choice" }) : null),
            loadMeter(c.open, c.capacity),
            c.technician === report.assignee ? h("span", { class: "muted", text: "assigned now" }) : assignButton(c, "Assign", c.rank === 1),
          ),
        ),
      )
    : h("p", { class: "notice notice-warn", text: "Nobody is eligible now: every candidate is excluded below." });

  const excludedList = excluded.length
    ? h(
        "ul",
        { class: "candidates excluded", attrs: { "aria-label": "Excluded technicians with the reason" } },
        excluded.map((c) =>
          h(
            "li",
            { class: c.technician === report.assignee ? "candidate current" : "candidate" },
            h("span", { class: "candidate-name", text: c.technician }),
            loadMeter(c.open, c.capacity),
            h("span", { class: "reason", text: exclusionText(c.excluded) }),
            c.excluded.reason === "inactive" || c.technician === report.assignee
              ? null
              : assignButton(c, "Assign anyway", false),
          ),
        ),
      )
    : null;

  const history = (report.decisions ?? []).length
    ? h(
        "details",
        { class: "decisions" },
        h("summary", { text: `Earlier decisions (${report.decisions.length})` }),
        h(
          "ul",
          {},
          report.decisions.map((d) =>
            h("li", { text: `${fmtTime(d.decided_at)}: ${d.cause} → ${d.technician ?? (d.escalated ? "escalated" : "nobody")}` }),
          ),
        ),
      )
    : null;

  replace(
    body,
    h(
      "p",
      { class: "assign-intro" },
      `Status ${label(report.status)}; `,
      reassign ? `assigned to ${report.assignee}.` : "not assigned.",
      " Candidates in the job's region, ranked by load against capacity.",
    ),
    reassign
      ? h(
          "div",
          { class: "field" },
          h("label", { attrs: { for: "assign-reason" }, text: "Reason for the reassignment (required)" }),
          reason,
        )
      : null,
    error,
    h("h3", { text: `Eligible (${eligible.length})` }),
    eligibleList,
    excludedList ? h("h3", { text: `Excluded (${excluded.length})` }) : null,
    excludedList,
    history,
  );
  const first = reason ?? body.querySelector(".candidates button") ?? body.closest("dialog").querySelector(".dialog-close");
  first.focus();
}
