// Auto-dispatch a region (or all the user's) and read what the batch did.

import * as api from "./api.js";
import { h, replace, announce, woLink } from "./ui.js";
import { openDialog } from "./dialog.js";

/** Shown decisions in the summary; the counts cover the rest. */
const SHOWN = 100;

export function openAutoDispatch(regions, _opener, onDone) {
  let ran = false;
  openDialog({
    title: "Auto-dispatch",
    onClose: () => {
      if (ran) onDone();
    },
    build: ({ close, body }) => {
      const sel = h(
        "select",
        { id: "auto-region", name: "region" },
        h("option", { value: "", text: "Every region I dispatch" }),
        regions.map((r) => h("option", { value: r, text: r })),
      );
      const error = h("p", { class: "form-error", attrs: { role: "alert" }, hidden: true });
      const run = h("button", { type: "submit", class: "button-primary", text: "Run dispatch" });
      const form = h(
        "form",
        { class: "dialog-form" },
        h("p", {
          text: "Assigns every job waiting for dispatch in the order urgent, VIP, deadline, age, to the least-loaded eligible technician; nobody goes over capacity.",
        }),
        h("div", { class: "field" }, h("label", { attrs: { for: "auto-region" }, text: "Region" }), sel),
        error,
        h("div", { class: "dialog-actions" }, h("button", { type: "button", text: "Cancel", on: { click: close } }), run),
      );
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        run.disabled = true;
        run.textContent = "Dispatching…";
        try {
          const report = await api.post("/v1/dispatch/auto", sel.value ? { region: sel.value } : {});
          ran = true;
          showReport(body, report, close);
        } catch (err) {
          error.textContent = err.message;
          error.hidden = false;
          run.disabled = false;
          run.textContent = "Run dispatch";
        }
      });
      return form;
    },
  });
}

function showReport(body, r, close) {
  const text = `${r.considered} considered: ${r.assigned} assigned, ${r.waiting} still waiting, ${r.escalated} escalated.`;
  announce(`Auto-dispatch done. ${text}`);
  body.addEventListener("click", (e) => {
    if (e.target.closest("a")) close();
  });
  const done = h("button", { type: "button", class: "button-primary", text: "Done", on: { click: close } });
  replace(
    body,
    h("p", { class: "auto-summary", attrs: { role: "status" }, text }),
    r.decisions.length
      ? h(
          "ol",
          { class: "auto-decisions" },
          r.decisions.slice(0, SHOWN).map((d) =>
            h(
              "li",
              {},
              woLink(d.work_order),
              " → ",
              d.technician ? d.technician : d.escalated ? "nobody eligible: escalated to a manager" : "nobody with room: waits",
            ),
          ),
        )
      : null,
    r.decisions.length > SHOWN ? h("p", { class: "muted", text: `and ${r.decisions.length - SHOWN} more.` }) : null,
    h("div", { class: "dialog-actions" }, done),
  );
  done.focus();
}
