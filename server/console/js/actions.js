// Office steps as dialogs: unassign, classify a complaint, record a follow-up call, cancel,
// resolve an escalation. Each resolves with the server's answer, or null when dismissed.

import * as api from "./api.js";
import { h, label, announce } from "./ui.js";
import { formDialog } from "./dialog.js";

const enc = encodeURIComponent;

function textArea(id, text, { required = false, hint = null } = {}) {
  return h(
    "div",
    { class: "field" },
    h("label", { attrs: { for: id }, text: required ? `${text} (required)` : text }),
    hint ? h("p", { id: `${id}-hint`, class: "hint", text: hint }) : null,
    h("textarea", {
      id,
      name: id.split("-").pop(),
      rows: 3,
      maxLength: 4000,
      required,
      attrs: hint ? { "aria-describedby": `${id}-hint` } : {},
    }),
  );
}

function need(value, what) {
  const v = String(value ?? "").trim();
  if (v === "") throw new Error(`Please write ${what}.`);
  return v;
}

export async function unassign(id) {
  const res = await formDialog({
    title: `Unassign ${id}`,
    intro: "The job goes back to dispatch; its technician's devices are told.",
    fields: () => textArea("unassign-reason", "Reason", { required: true }),
    submitText: "Unassign",
    submit: (fd) => api.post(`/v1/workorders/${enc(id)}/unassign`, { reason: need(fd.get("reason"), "a reason") }),
  });
  if (res) announce(`${id} is back in dispatch.`);
  return res;
}

export async function classify(id) {
  const res = await formDialog({
    title: `Classify complaint ${id}`,
    fields: () => [
      h(
        "fieldset",
        { class: "field" },
        h("legend", { text: "What is it about?" }),
        ["quality", "attitude", "delay"].map((c, i) =>
          h(
            "label",
            { class: "choice" },
            h("input", { type: "radio", name: "category", value: c, required: true, checked: i === 0 }),
            ` ${label(c)}`,
          ),
        ),
      ),
      h(
        "label",
        { class: "choice" },
        h("input", { type: "checkbox", name: "urgent", value: "yes" }),
        " Urgent (escalates to a manager at once)",
      ),
    ],
    submitText: "Classify",
    submit: (fd) =>
      api.post(`/v1/workorders/${enc(id)}/classify`, { category: fd.get("category"), urgent: fd.get("urgent") === "yes" }),
  });
  if (res) announce(`${id} classified.`);
  return res;
}

export async function followUp(id) {
  const res = await formDialog({
    title: `Follow-up call for ${id}`,
    intro: "A score of 3 or less escalates to a manager.",
    fields: () => [
      h(
        "div",
        { class: "field" },
        h("label", { attrs: { for: "fu-score" }, text: "Satisfaction score (1 to 5)" }),
        h(
          "select",
          { id: "fu-score", name: "score", required: true },
          h("option", { value: "", text: "Choose…" }),
          [5, 4, 3, 2, 1].map((n) => h("option", { value: String(n), text: String(n) })),
        ),
      ),
      textArea("fu-comment", "Customer's comment"),
      textArea("fu-remedial", "Remedial action"),
    ],
    submitText: "Record",
    submit: (fd) => {
      const score = Number(fd.get("score"));
      if (!(score >= 1 && score <= 5)) throw new Error("Please choose a score from 1 to 5.");
      return api.post(`/v1/workorders/${enc(id)}/followup`, {
        score,
        comment: String(fd.get("comment") ?? "").trim(),
        remedial: String(fd.get("remedial") ?? "").trim(),
      });
    },
  });
  if (res) announce(`Follow-up recorded for ${id}.`);
  return res;
}

export async function cancel(id) {
  const res = await formDialog({
    title: `Cancel ${id}`,
    intro: "A cancelled work order gets no more field work. This cannot be undone here.",
    fields: () => textArea("cancel-reason", "Reason", { required: true }),
    submitText: "Cancel the work order",
    submit: (fd) => api.post(`/v1/workorders/${enc(id)}/cancel`, { reason: need(fd.get("reason"), "a reason") }),
  });
  if (res) announce(`${id} cancelled.`);
  return res;
}

/** `esc` is an escalation row (`id`, `wo_id`, `kind`, `reason`). */
export async function resolveEscalation(esc) {
  const res = await formDialog({
    title: `Resolve escalation of ${esc.wo_id}`,
    intro: `${label(esc.kind)}: ${esc.reason}`,
    fields: () =>
      textArea("esc-action", "What you did", {
        required: true,
        hint: "E.g. called the customer back, replaced the hose free of charge.",
      }),
    submitText: "Resolve",
    submit: (fd) => api.post(`/v1/escalations/${enc(esc.id)}/resolve`, { action: need(fd.get("action"), "what you did") }),
  });
  if (res) announce(`Escalation of ${esc.wo_id} resolved.`);
  return res;
}
