// Logging what users were shown and picked, in the event schema of docs/EVENTS.md, to the
// worker's POST /v1/events: batched, sent with navigator.sendBeacon (text/plain, one event per
// line) so that a page being closed still delivers its last events. Failures are silent: a
// page without an events endpoint (or with events off) works unchanged.
//
//   import { EventLog } from "./events.js";
//   const log = new EventLog({ endpoint: "https://api.example/v1/events", index: "cities" });
//   attachAutosuggest(input, listbox, { suggest, onEvent: (e) => log.add(e) });

/** A random id: 32 hex digits. */
export function randomId() {
  return crypto.randomUUID().replaceAll("-", "");
}

/** A key kept in `storage` under `name`, created on first use; a fresh one when storage is off. */
function kept(storage, name) {
  try {
    let value = storage.getItem(name);
    if (!value) {
      value = randomId();
      storage.setItem(name, value);
    }
    return value;
  } catch {
    return randomId();
  }
}

/** This browser's user key (the `uid` the worker assigns experiment arms by). */
export const userKey = () => kept(localStorage, "es_uid");
/** This tab's session id. */
export const sessionKey = () => kept(sessionStorage, "es_session");

export class EventLog {
  /**
   * @param {{endpoint: string, index?: string, user?: string, session?: string,
   *          maxBatch?: number, flushMs?: number}} options
   */
  constructor({ endpoint, index, user = userKey(), session = sessionKey(), maxBatch = 20, flushMs = 5000 }) {
    Object.assign(this, { endpoint, index, user, session, maxBatch, flushMs });
    this.queue = [];
    this.timer = null;
    // The last chance to send: the page is hidden (tab switched, closed, navigated away).
    addEventListener("pagehide", () => this.flush());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") this.flush();
    });
  }

  /** Queues one event (the widget's: type and its fields); adds ts, user, session, index. */
  add(event) {
    const full = { ts: Date.now(), user: this.user, session: this.session, ...event };
    if (this.index && !full.index) full.index = this.index;
    this.queue.push(full);
    if (this.queue.length >= this.maxBatch) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.flushMs);
  }

  /** Sends everything queued, as one request. */
  flush() {
    clearTimeout(this.timer);
    this.timer = null;
    if (!this.queue.length) return;
    const body = this.queue.map((e) => JSON.stringify(e)).join("\n");
    this.queue = [];
    try {
      // A string body is sent as text/plain: a simple request, no CORS preflight.
      if (navigator.sendBeacon?.(this.endpoint, body)) return;
      fetch(this.endpoint, { method: "POST", body, keepalive: true, headers: { "content-type": "text/plain" } })
        .catch(() => {});
    } catch {
      // Events are best effort: never break the page.
    }
  }
}
