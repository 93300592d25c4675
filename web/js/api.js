// The REST client: bearer auth, JSON in and out, RFC 9457 problem+json errors.

import { session } from "./session.js";

/** An error response from the API, carrying its problem+json body. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem ?? {};
  }

  /**
   * Field errors as {field: message}; "body.window_end" and "window_end" both map to
   * "window_end". Without an `errors` list, a detail of "field: message; …" is read instead.
   */
  get fieldErrors() {
    const listed = this.problem.errors ?? parseDetail(this.problem.detail);
    const errors = {};
    for (const { field, message } of listed) {
      const name = String(field ?? "")
        .split(".")
        .pop();
      errors[name] = errors[name] ? `${errors[name]}; ${message}` : message;
    }
    return errors;
  }
}

function parseDetail(detail) {
  if (typeof detail !== "string") return [];
  return detail
    .split("; ")
    .map((part) => /^([A-Za-z_][\w.]*): (.+)$/.exec(part))
    .filter(Boolean)
    .map(([, field, message]) => ({ field, message }));
}

/** Fired when the API rejects the token, so the app can ask for a new one. */
export const UNAUTHORIZED_EVENT = "surveil:unauthorized";

async function request(method, path, { body, token = session.token, query } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  const headers = { Accept: "application/json, application/problem+json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (cause) {
    // Network failure (API down, connection refused): status 0, retryable.
    throw new ApiError(0, {
      title: "Cannot reach the API",
      detail: String(cause?.message ?? cause),
    });
  }
  const payload = await readJson(response);
  if (!response.ok) {
    const error = new ApiError(response.status, payload);
    if (response.status === 401 && token) window.dispatchEvent(new CustomEvent(UNAUTHORIZED_EVENT));
    throw error;
  }
  return payload;
}

async function readJson(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { title: `HTTP ${response.status}`, detail: text.slice(0, 300) };
  }
}

async function download(path) {
  const response = await fetch(new URL(path, window.location.origin), {
    headers: { Authorization: `Bearer ${session.token}` },
    cache: "no-store",
  });
  if (!response.ok) throw new ApiError(response.status, await readJson(response));
  return response.blob();
}

const alertPath = (id) => `/api/alerts/${encodeURIComponent(id)}`;

export const api = {
  config: () => request("GET", "/api/config", { token: null }),
  me: (token) => request("GET", "/api/me", { token }),
  demoAlerts: () => request("GET", "/api/demo-alerts"),
  listAlerts: (filters) => request("GET", "/api/alerts", { query: filters }),
  getAlert: (id) => request("GET", alertPath(id)),
  submitAlert: (body) => request("POST", "/api/alerts", { body }),
  cancel: (id, reason) => request("POST", `${alertPath(id)}/cancel`, { body: { reason } }),
  retry: (id) => request("POST", `${alertPath(id)}/retry`),
  rerun: (id, reason) => request("POST", `${alertPath(id)}/rerun`, { body: { reason } }),
  answer: (id, agent, text) =>
    request("POST", `${alertPath(id)}/answer`, { body: { agent, text } }),
  getCase: (id) => request("GET", `${alertPath(id)}/case`),
  assign: (id, assignee) =>
    request("POST", `${alertPath(id)}/assign`, { body: assignee ? { assignee } : undefined }),
  decide: (id, decision) => request("POST", `${alertPath(id)}/decision`, { body: decision }),
  approve: (id, comment) => request("POST", `${alertPath(id)}/approval`, { body: { comment } }),
  sendBack: (id, comment) => request("POST", `${alertPath(id)}/rejection`, { body: { comment } }),
  /** The evidence pack as a Blob (the route needs the bearer token, so no plain link). */
  report: (id, format) => download(`${alertPath(id)}/report.${format}`),
  streamToken: (id) => request("POST", `${alertPath(id)}/stream-token`),
  eventsUrl: (id, token, after) => {
    const url = new URL(`${alertPath(id)}/events`, window.location.origin);
    url.searchParams.set("token", token);
    if (after >= 0) url.searchParams.set("after", String(after));
    return url.toString();
  },
};
