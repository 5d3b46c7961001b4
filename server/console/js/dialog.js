// Modal dialogs on the native <dialog> element: the rest of the page is inert while one is
// open, Tab stays inside, Escape closes, and focus goes back to what opened it. While any
// dialog is open, live updates wait (live.hold / live.release), so nothing moves under the
// user's hands.

import { h, append } from "./ui.js";
import { hold, release } from "./live.js";

let counter = 0;

/**
 * Opens a modal dialog. `build(dialog)` returns its body (nodes); `onClose` runs after it
 * closed (focus is back on the opener by then). Returns `{ dialog, close, body }`.
 */
export function openDialog({ title, build, onClose = () => {}, wide = false }) {
  const opener = document.activeElement;
  const id = `dialog-${++counter}`;
  const heading = h("h2", { id: `${id}-title`, text: title });
  const body = h("div", { class: "dialog-body" });
  const closeButton = h("button", {
    type: "button",
    class: "dialog-close",
    text: "×",
    attrs: { "aria-label": "Close" },
  });
  const dialog = h(
    "dialog",
    { class: wide ? "dialog dialog-wide" : "dialog", attrs: { "aria-labelledby": heading.id } },
    h("div", { class: "dialog-head" }, heading, closeButton),
    body,
  );
  let closed = false;
  const close = () => {
    if (!closed) dialog.close();
  };
  closeButton.addEventListener("click", close);
  dialog.addEventListener("keydown", (e) => trapTab(dialog, e));
  dialog.addEventListener("close", () => {
    closed = true;
    dialog.remove();
    if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
    onClose();
    release();
  });
  hold();
  document.body.append(dialog);
  append(body, [build({ dialog, close, body })]);
  dialog.showModal();
  const first = dialog.querySelector("[autofocus]") || focusables(body)[0] || closeButton;
  first.focus();
  return { dialog, close, body };
}

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

function focusables(root) {
  return [...root.querySelectorAll(FOCUSABLE)].filter((el) => !el.closest("[hidden]"));
}

/** Keeps Tab and Shift+Tab inside the dialog (the browser would go on to its own toolbar). */
function trapTab(dialog, e) {
  if (e.key !== "Tab") return;
  const items = focusables(dialog);
  if (items.length === 0) return;
  const first = items[0];
  const last = items[items.length - 1];
  if (e.shiftKey && document.activeElement === first) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && document.activeElement === last) {
    e.preventDefault();
    first.focus();
  }
}

/**
 * A dialog with a form: `fields(form)` returns the form's fields; `submit(formData)` runs on
 * submit and may throw (its message is shown in the dialog; the dialog stays open). Resolves
 * with submit's result when it succeeded, or null when the dialog was dismissed.
 */
export function formDialog({ title, intro = null, fields, submitText, submit }) {
  return new Promise((resolve) => {
    let result = null;
    openDialog({
      title,
      onClose: () => resolve(result),
      build: ({ close }) => {
        const error = h("p", { class: "form-error", attrs: { role: "alert" }, hidden: true });
        const button = h("button", { type: "submit", class: "button-primary", text: submitText });
        const form = h("form", { class: "dialog-form", noValidate: false });
        append(form, [
          intro ? h("p", { text: intro }) : null,
          fields(form),
          error,
          h(
            "div",
            { class: "dialog-actions" },
            h("button", { type: "button", text: "Cancel", on: { click: close } }),
            button,
          ),
        ]);
        form.addEventListener("submit", async (e) => {
          e.preventDefault();
          button.disabled = true;
          error.hidden = true;
          try {
            result = (await submit(new FormData(form))) ?? true;
            close();
          } catch (err) {
            error.textContent = err.message || String(err);
            error.hidden = false;
            button.disabled = false;
          }
        });
        return form;
      },
    });
  });
}
