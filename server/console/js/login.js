// The login view. A technician is refused with a clear word: the console is for the office.

import { login } from "./api.js";
import { h } from "./ui.js";

const OFFICE_ONLY = "The console is for the office; technicians use the field app.";

function messageFor(err) {
  switch (err.code) {
    case "unauthorized":
      return "Wrong user name or password.";
    case "office_only":
      return OFFICE_ONLY;
    case "too_many_attempts":
      return `Too many attempts. Try again in ${err.retryAfter ?? 60} seconds.`;
    case "busy":
      return `The server is busy. Try again in ${err.retryAfter ?? 2} seconds.`;
    case "account_disabled":
      return "This account is disabled. Ask an administrator.";
    default:
      return err.status === 401 ? "Wrong user name or password." : `Login failed: ${err.message}`;
  }
}

/** Renders the login form into `main`; `message` (optional) says why it is shown. */
export function mountLogin(main, message) {
  const error = h("p", { id: "login-error", class: "form-error", attrs: { role: "alert" }, hidden: true });
  const user = h("input", {
    id: "login-user",
    name: "user",
    type: "text",
    autocomplete: "username",
    required: true,
    attrs: { autocapitalize: "none", spellcheck: "false" },
  });
  const password = h("input", {
    id: "login-password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const button = h("button", { type: "submit", class: "button-primary", text: "Log in" });
  const form = h(
    "form",
    { class: "login-form", attrs: { "aria-describedby": "login-error" } },
    h("div", { class: "field" }, h("label", { attrs: { for: "login-user" }, text: "User name" }), user),
    h("div", { class: "field" }, h("label", { attrs: { for: "login-password" }, text: "Password" }), password),
    error,
    button,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    button.disabled = true;
    error.hidden = true;
    try {
      await login(user.value.trim(), password.value);
    } catch (err) {
      error.textContent = messageFor(err);
      error.hidden = false;
      error.dataset.code = err.code ?? "";
      button.disabled = false;
      password.select();
    }
  });
  main.append(
    h(
      "section",
      { class: "login", attrs: { "aria-labelledby": "login-title" } },
      h("h1", { id: "login-title", text: "Dispatcher console" }),
      h("p", { class: "muted", text: "For dispatchers, agents, managers, auditors and administrators." }),
      message ? h("p", { class: "notice notice-info", attrs: { role: "status" }, text: message }) : null,
      form,
    ),
  );
  user.focus();
}
