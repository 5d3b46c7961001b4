// The auditor's forms: record a finding (a fail needs the problem, the responsible team, the
// corrective action and its deadline; the API names what is missing, and the form shows it),
// verify a corrective action, close an audit. Each resolves with the audit as the API answers
// it, or null when dismissed.

import * as api from "./api.js";
import { h, announce } from "./ui.js";
import { formDialog } from "./dialog.js";
import { field, input } from "./stock-ui.js";

const enc = encodeURIComponent;

/** A `datetime-local` value for a time (ms), in the browser's zone. */
function localInput(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Records a finding on `audit`; `now` is the service time (the deadline's default counts from it). */
export function recordFinding(audit, now) {
  let failFields = null;
  const toggle = (fail) => {
    for (const el of failFields.querySelectorAll("input, textarea")) el.disabled = !fail;
    failFields.classList.toggle("muted", !fail);
  };
  return formDialog({
    title: `Record a finding on ${audit.wo_id}`,
    intro: "Each finding checks one standard. A failed one needs the problem, the team responsible, the corrective action and its deadline, which then runs on the service clock until someone verifies it.",
    fields: () => {
      failFields = h(
        "fieldset",
        { class: "field" },
        h("legend", { text: "For a failed finding" }),
        field("af-problem", "Problem", h("textarea", { name: "problem", rows: 2, maxLength: 1000 })),
        field("af-team", "Responsible team", input("responsible_team", { maxLength: 1000 })),
        field("af-action", "Corrective action", h("textarea", { name: "corrective_action", rows: 2, maxLength: 1000 })),
        field(
          "af-deadline",
          "Deadline",
          input("deadline", { type: "datetime-local", value: localInput(now + 7 * 86_400_000) }),
          "When the corrective action must be verified.",
        ),
      );
      const radio = (value, text, checked) =>
        h(
          "label",
          { class: "choice" },
          h("input", { type: "radio", name: "result", value, checked, required: true, on: { change: () => toggle(value === "fail") } }),
          ` ${text}`,
        );
      const fields = [
        field("af-standard", "Standard checked", input("standard", { maxLength: 1000, autocomplete: "off" }), "For example: the signature matches the work done."),
        h("fieldset", { class: "field" }, h("legend", { text: "Result" }), radio("pass", "Pass", true), radio("fail", "Fail", false)),
        failFields,
        field("af-note", "Note (optional)", h("textarea", { name: "note", rows: 2, maxLength: 4000 })),
      ];
      toggle(false);
      return fields;
    },
    submitText: "Record finding",
    submit: (fd) => {
      const fail = fd.get("result") === "fail";
      const body = { standard: String(fd.get("standard") ?? ""), result: fail ? "fail" : "pass", note: fd.get("note") || null };
      if (fail) {
        const deadline = String(fd.get("deadline") ?? "");
        Object.assign(body, {
          problem: fd.get("problem") || null,
          responsible_team: fd.get("responsible_team") || null,
          corrective_action: fd.get("corrective_action") || null,
          deadline_at: deadline ? new Date(deadline).getTime() : null,
        });
      }
      return api.post(`/v1/audits/${enc(audit.id)}/findings`, body);
    },
  }).then((res) => {
    if (res) announce(`Finding recorded on ${audit.wo_id}.`);
    return res;
  });
}

/** Verifies the corrective action of failed finding `f`. */
export function verify(audit, f) {
  return formDialog({
    title: `Verify corrective action ${f.seq}`,
    intro: `${f.corrective_action ?? ""} (${f.responsible_team ?? "no team"})`,
    fields: () => field("av-note", "What you checked (optional)", h("textarea", { name: "note", rows: 3, maxLength: 4000 })),
    submitText: "Verify",
    submit: (fd) => api.post(`/v1/audits/${enc(audit.id)}/findings/${enc(f.id)}/verify`, { note: fd.get("note") || null }),
  }).then((res) => {
    if (res) announce(`Corrective action ${f.seq} verified.`);
    return res;
  });
}

/** Closes `audit` (no more findings). */
export function close(audit) {
  return formDialog({
    title: `Close the audit of ${audit.wo_id}`,
    intro: "A closed audit takes no more findings; corrective actions still wait for their verification.",
    fields: () => [],
    submitText: "Close audit",
    submit: () => api.post(`/v1/audits/${enc(audit.id)}/close`),
  }).then((res) => {
    if (res) announce(`Audit of ${audit.wo_id} closed.`);
    return res;
  });
}
