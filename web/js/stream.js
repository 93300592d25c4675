// A resumable view of one investigation's event stream.
//
// EventSource reconnects by itself with Last-Event-ID, but our stream URL carries a
// short-lived stream token, and a restarted API may need a new one. So on any error
// we close the EventSource and open a fresh one ourselves, with a new token and
// ?after=<last offset applied>, backing off exponentially with jitter. Offsets are
// monotonic per task, so "offset <= last applied" is exactly the set of duplicates.

import { api, ApiError } from "./api.js";

export const EVENT_TYPES = [
  "status",
  "step_start",
  "step_progress",
  "step_complete",
  "message_delta",
  "finding",
  "artifact",
  "error",
  "input_required",
];

const TERMINAL_STATES = new Set(["completed", "failed", "canceled", "timed_out"]);

export function isTerminal(event) {
  return (
    event.type === "status" &&
    event.agent === "orchestrator" &&
    TERMINAL_STATES.has(event.data?.state)
  );
}

/** Full-jitter-with-floor backoff: half the exponential step fixed, half random. */
export function backoffDelay(attempt, { baseMs = 500, capMs = 8000, random = Math.random } = {}) {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return ceiling / 2 + random() * (ceiling / 2);
}

export class InvestigationStream {
  /**
   * @param {string} alertId
   * @param {object} handlers
   * @param {(offset: number, event: object) => void} handlers.onEvent  called once per offset, in order
   * @param {(event: object) => void} [handlers.onLive]  a live agent event (no offset) ahead of its durable copy
   * @param {(state: "connecting"|"open"|"reconnecting"|"closed", detail?: object) => void} handlers.onConnection
   * @param {(error: ApiError) => void} handlers.onFatal  the stream can never be read (404, 403)
   */
  constructor(alertId, { onEvent, onLive = () => {}, onConnection, onFatal }) {
    this.alertId = alertId;
    this.onEvent = onEvent;
    this.onLive = onLive;
    this.onConnection = onConnection;
    this.onFatal = onFatal;
    this.lastOffset = -1;
    this.source = null;
    this.timer = null;
    this.failures = 0;
    this.reconnects = 0;
    this.stopped = true;
    this.finished = false;
  }

  /** Open (or re-open after a retry) the stream, resuming after the last offset applied. */
  start() {
    this.stop(); // never two connections for one page
    this.stopped = false;
    this.finished = false;
    this.failures = 0;
    this.#connect();
  }

  stop() {
    this.stopped = true;
    this.#closeSource();
    clearTimeout(this.timer);
    this.timer = null;
  }

  get connected() {
    return this.source?.readyState === EventSource.OPEN;
  }

  async #connect() {
    if (this.stopped) return;
    this.onConnection(this.failures === 0 ? "connecting" : "reconnecting", {
      attempt: this.failures,
    });
    let token;
    try {
      ({ token } = await api.streamToken(this.alertId));
    } catch (error) {
      if (error instanceof ApiError && [403, 404].includes(error.status)) {
        this.stop();
        this.onFatal(error);
        return;
      }
      if (error instanceof ApiError && error.status === 401) {
        this.stop(); // the app shows the sign-in page
        return;
      }
      this.#scheduleReconnect();
      return;
    }
    if (this.stopped) return;
    const source = new EventSource(api.eventsUrl(this.alertId, token, this.lastOffset));
    this.source = source;
    source.addEventListener("open", () => {
      if (source !== this.source) return;
      this.onConnection("open");
    });
    const receive = (message) => this.#receive(source, message);
    for (const type of EVENT_TYPES) source.addEventListener(type, receive);
    source.addEventListener("live", (message) => {
      if (source !== this.source) return;
      try {
        this.onLive(JSON.parse(message.data));
      } catch {
        console.warn("surveil: ignoring a live frame that is not JSON");
      }
    });
    source.addEventListener("message", receive);
    // "error" is both a server event type and EventSource's connection error:
    // the former is a MessageEvent with data, the latter a plain Event.
    source.addEventListener("error", (event) => {
      if (event instanceof MessageEvent && event.data) return;
      if (source !== this.source) return;
      // CLOSED means the server answered without a stream (e.g. 204: nothing more
      // will come), CONNECTING means the connection was cut.
      const answered = source.readyState === EventSource.CLOSED;
      this.#closeSource();
      if (this.finished) return;
      if (answered) this.#reconnectUnlessOver();
      else this.#scheduleReconnect();
    });
  }

  /** After a refusal, reconnect only if the investigation can still produce events. */
  async #reconnectUnlessOver() {
    try {
      const snapshot = await api.getAlert(this.alertId);
      if (TERMINAL_STATES.has(snapshot.state) && snapshot.last_offset <= this.lastOffset) {
        this.finished = true;
        this.onConnection("closed");
        return;
      }
    } catch (error) {
      if (error instanceof ApiError && [403, 404].includes(error.status)) {
        this.stop();
        this.onFatal(error);
        return;
      }
    }
    this.#scheduleReconnect();
  }

  #receive(source, message) {
    if (source !== this.source) return;
    const offset = Number.parseInt(message.lastEventId, 10);
    if (!Number.isInteger(offset) || offset <= this.lastOffset) return; // already applied
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      console.warn("surveil: ignoring an event that is not JSON at offset", offset);
      return;
    }
    this.lastOffset = offset;
    this.failures = 0; // data flows again: the next outage starts from a short delay
    this.onEvent(offset, event);
    if (isTerminal(event)) this.#closeUnlessRetried(source, offset);
  }

  /**
   * A terminal event ends the stream only if it is the investigation's last: a failed
   * run that was retried goes on into its retry, on the same connection. Otherwise
   * close before the server does, so EventSource does not take that for a drop.
   */
  async #closeUnlessRetried(source, offset) {
    try {
      const snapshot = await api.getAlert(this.alertId);
      if (snapshot.last_offset > offset) return; // a later run goes on streaming
    } catch (error) {
      console.warn("surveil: could not check for a retry after the terminal event", error);
    }
    if (source !== this.source || this.lastOffset > offset) return; // it went on meanwhile
    this.finished = true;
    this.#closeSource();
    this.onConnection("closed");
  }

  #scheduleReconnect() {
    if (this.stopped) return;
    const delay = backoffDelay(this.failures);
    this.failures += 1;
    this.reconnects += 1;
    this.onConnection("reconnecting", { attempt: this.failures, delayMs: delay });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.#connect(), delay);
  }

  #closeSource() {
    if (this.source) {
      this.source.close();
      this.source = null;
    }
  }
}
