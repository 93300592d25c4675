// Sign-in: paste a bearer token, or take the dev token the API offers in dev mode.

import { api, ApiError } from "../api.js";
import { h } from "../dom.js";
import { session } from "../session.js";

export async function renderSignIn(main, { onSignedIn }) {
  const tokenInput = h("input", {
    id: "token",
    name: "token",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    "aria-describedby": "token-help token-error",
  });
  const error = h("p", { id: "token-error", class: "field-error", role: "alert" });
  const devSlot = h("div", { class: "dev-token" });
  const form = h(
    "form",
    { class: "card signin", novalidate: true, "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in"),
    h("label", { for: "token" }, "API token"),
    tokenInput,
    h(
      "p",
      { id: "token-help", class: "help" },
      "Your bearer token. It is kept in this browser tab only (sessionStorage).",
    ),
    error,
    devSlot,
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  main.replaceChildren(form);
  tokenInput.focus();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = tokenInput.value.trim();
    error.textContent = "";
    tokenInput.removeAttribute("aria-invalid");
    if (!token) {
      error.textContent = "Enter a token.";
      tokenInput.setAttribute("aria-invalid", "true");
      return;
    }
    try {
      const me = await api.me(token);
      session.signIn(token, me);
      onSignedIn();
    } catch (cause) {
      tokenInput.setAttribute("aria-invalid", "true");
      error.textContent =
        cause instanceof ApiError && cause.status === 401
          ? "This token is not valid."
          : `Could not sign in: ${cause.message}`;
    }
  });

  try {
    const config = await api.config();
    if (config?.dev_mode && config.dev_token) {
      devSlot.replaceChildren(
        h("p", { class: "help" }, "Dev mode: the API generated a token for the demo tenant."),
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            onclick: () => {
              tokenInput.value = config.dev_token;
              form.requestSubmit();
            },
          },
          "Use the dev token",
        ),
      );
    }
  } catch {
    // Without /api/config the form still works with a pasted token.
  }
}
