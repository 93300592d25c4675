// The submit form: pick a stored demo alert, or describe a new one. Validation is the
// API's (problem+json field errors are shown next to their inputs).

import { api, ApiError } from "../api.js";
import { h } from "../dom.js";

const FIELDS = [
  { name: "id", label: "Alert ID", type: "text", help: "Letters, digits, . _ : -" },
  {
    name: "type",
    label: "Type",
    type: "select",
    options: [
      ["insider_trading", "Insider trading"],
      ["wash_trade", "Wash trade"],
      ["unknown", "Unknown (triage decides)"],
    ],
  },
  { name: "account", label: "Account", type: "text" },
  { name: "instrument", label: "Instrument", type: "text" },
  { name: "window_start", label: "Window start (UTC)", type: "datetime-local" },
  { name: "window_end", label: "Window end (UTC)", type: "datetime-local" },
  { name: "description", label: "Description", type: "textarea" },
];

/** "2024-03-01T09:30:00Z" -> "2024-03-01T09:30" for a datetime-local input, and back. */
const toLocalInput = (iso) =>
  iso
    ? String(iso)
        .replace(/Z|[+-]\d\d:\d\d$/, "")
        .slice(0, 16)
    : "";
const fromLocalInput = (value) => (value ? `${value.length === 16 ? `${value}:00` : value}Z` : "");

export function renderSubmitForm({ onSubmitted }) {
  const inputs = {};
  const errors = {};
  const fields = FIELDS.map((field) => {
    const id = `alert-${field.name}`;
    const describedBy = [field.help ? `${id}-help` : null, `${id}-error`].filter(Boolean).join(" ");
    let input;
    if (field.type === "select") {
      input = h(
        "select",
        { id, name: field.name, "aria-describedby": describedBy },
        field.options.map(([value, label]) => h("option", { value }, label)),
      );
    } else if (field.type === "textarea") {
      input = h("textarea", { id, name: field.name, rows: 2, "aria-describedby": describedBy });
    } else {
      input = h("input", {
        id,
        name: field.name,
        type: field.type,
        "aria-describedby": describedBy,
      });
    }
    inputs[field.name] = input;
    errors[field.name] = h("p", { id: `${id}-error`, class: "field-error" });
    return h(
      "div",
      { class: `field field-${field.name}` },
      h("label", { for: id }, field.label),
      input,
      field.help ? h("p", { id: `${id}-help`, class: "help" }, field.help) : null,
      errors[field.name],
    );
  });

  const demoSelect = h(
    "select",
    { id: "demo-alert", name: "demo" },
    h("option", { value: "" }, "— a new alert (fill in the fields) —"),
  );
  const formError = h("p", { class: "form-error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary" }, "Investigate");
  const form = h(
    "form",
    { class: "card submit-form", novalidate: true, "aria-labelledby": "submit-title" },
    h("h2", { id: "submit-title" }, "Submit an alert"),
    h(
      "div",
      { class: "field field-demo" },
      h("label", { for: "demo-alert" }, "Demo alert"),
      demoSelect,
    ),
    h(
      "fieldset",
      { class: "alert-fields" },
      h("legend", { class: "visually-hidden" }, "Alert"),
      fields,
    ),
    formError,
    submit,
  );

  let demoAlerts = [];
  api
    .demoAlerts()
    .then((alerts) => {
      demoAlerts = Array.isArray(alerts) ? alerts : (alerts?.items ?? []);
      for (const alert of demoAlerts) {
        demoSelect.append(
          h(
            "option",
            { value: alert.id },
            `${alert.id} — ${alert.type} ${alert.account} ${alert.instrument}`,
          ),
        );
      }
    })
    .catch((cause) => {
      formError.textContent = `Demo alerts unavailable: ${cause.message}`;
    });

  // A demo alert is submitted by id: its fields are shown, read-only.
  demoSelect.addEventListener("change", () => {
    const alert = demoAlerts.find((a) => a.id === demoSelect.value);
    for (const [name, input] of Object.entries(inputs)) {
      const value = alert?.[name] ?? (name === "type" ? "insider_trading" : "");
      input.value = name.startsWith("window_") ? toLocalInput(value) : value;
      input.disabled = Boolean(alert);
    }
    clearErrors();
  });

  function clearErrors() {
    formError.textContent = "";
    for (const [name, el] of Object.entries(errors)) {
      el.textContent = "";
      inputs[name].removeAttribute("aria-invalid");
    }
  }

  function alertFromFields() {
    const alert = {};
    for (const [name, input] of Object.entries(inputs)) {
      alert[name] = name.startsWith("window_") ? fromLocalInput(input.value) : input.value.trim();
    }
    return alert;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const body = demoSelect.value ? { id: demoSelect.value } : alertFromFields();
    submit.disabled = true;
    try {
      const accepted = await api.submitAlert(body);
      onSubmitted(accepted);
    } catch (cause) {
      showErrors(cause);
    } finally {
      submit.disabled = false;
    }
  });

  function showErrors(cause) {
    const fieldErrors = cause instanceof ApiError ? cause.fieldErrors : {};
    const unplaced = [];
    let first = null;
    for (const [name, message] of Object.entries(fieldErrors)) {
      if (errors[name] && !inputs[name].disabled) {
        errors[name].textContent = message;
        inputs[name].setAttribute("aria-invalid", "true");
        first ??= inputs[name];
      } else {
        unplaced.push(`${name || "request"}: ${message}`);
      }
    }
    if (first && unplaced.length === 0) {
      formError.textContent = "The alert was not accepted: see the fields marked above.";
    } else {
      const title = cause.problem?.title ?? "The alert was not accepted";
      const detail = unplaced.length
        ? unplaced.join("; ")
        : (cause.problem?.detail ?? cause.message);
      formError.textContent = `${title}: ${detail}`;
    }
    (first ?? submit).focus();
  }

  return form;
}
